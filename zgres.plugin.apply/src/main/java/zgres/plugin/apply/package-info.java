/** The apply sync plugin (its classes are exported for embedding and tests). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package zgres.plugin.apply;
