/** The sync engine: delivers cluster snapshots to sync plugins (used by the sync daemon component). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package zgres.sync;
