/**
 * The zgres cluster model: immutable values describing database groups, their nodes and their state,
 * as read from ZooKeeper. Every value here is immutable and safe to share between threads.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.1.0")
package zgres.api;
