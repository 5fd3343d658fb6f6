/** Deadman extension points: health vetoes and metadata providers (whiteboard services). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package zgres.api.deadman;
