/**
 * ZooKeeper coordination for zgres: the {@link zgres.zookeeper.Coordination} service (Curator clients to the ensemble
 * or to an embedded server), the znode layout ({@link zgres.zookeeper.ZkPaths}), its one schema
 * ({@link zgres.zookeeper.Znodes}), and the cluster view: {@link zgres.zookeeper.ClusterReader} (a Curator-style
 * recipe turning the tree into immutable snapshots) and the runtime's shared {@link zgres.zookeeper.ClusterCache}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.1.0")
package zgres.zookeeper;
