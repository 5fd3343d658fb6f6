/**
 * The one promotion rule: may this node be promoted, and who is the best candidate. One pure function of the candidate,
 * the group as read from ZooKeeper and the group's policy, used by the election, switchovers (requested or on a clean
 * stop), manual failovers and the shell.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package zgres.api.promotion;
