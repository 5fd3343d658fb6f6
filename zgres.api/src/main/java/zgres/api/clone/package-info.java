/**
 * Building replicas and archiving WAL as plugins: {@link CloneMethod}s (pg_basebackup, pgBackRest, a custom command)
 * tried in the order a deadman's {@code clone_methods} lists them, and a {@link WalArchive} that gives PostgreSQL its
 * {@code archive_command} and {@code restore_command}. The deadman provides {@link LocalCluster}: the local
 * PostgreSQL and a way to run programs as its OS user.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package zgres.api.clone;
