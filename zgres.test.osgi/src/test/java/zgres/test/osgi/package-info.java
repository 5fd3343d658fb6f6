/** Tests that run inside the OSGi framework, with the zgres runtime's bundles. */
package zgres.test.osgi;
