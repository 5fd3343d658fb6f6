/** Configuration services: the scopes a runtime serves, and the one validator of configuration values. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package zgres.api.config;
