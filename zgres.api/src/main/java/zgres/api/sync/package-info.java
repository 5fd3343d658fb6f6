/** Sync plugins: receive full cluster snapshots and apply them to local configuration (idempotently). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package zgres.api.sync;
