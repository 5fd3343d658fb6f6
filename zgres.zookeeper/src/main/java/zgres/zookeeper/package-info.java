/**
 * ZooKeeper coordination for zgres: the {@link zgres.zookeeper.Coordination} service (Curator clients to the
 * ensemble or to an embedded server), the znode layout ({@link zgres.zookeeper.ZkPaths}), its JSON
 * ({@link zgres.zookeeper.ZnodeCodec}) and {@link zgres.zookeeper.ClusterReader}, which turns the tree into
 * immutable {@link zgres.api.ClusterSnapshot}s.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package zgres.zookeeper;
