package zgres.zookeeper;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.ACLProvider;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The runtime's connection to ZooKeeper (an external ensemble, or the embedded server when no connect string is
 * configured).
 */
@ProviderType
public interface Coordination {

    /** @return the ZooKeeper connect string clients use */
    String connectString();

    /** @return the znode layout under the configured root */
    ZkPaths paths();

    /**
     * @return the ACL every zgres znode gets, by path (clients of {@link #newClient} use it already; the shell uses it
     *         to bring an older tree under it)
     */
    ACLProvider acls();

    /** @return the shared, started client (readers, shell); do not close it */
    CuratorFramework client();

    /**
     * Creates a client with a session of its own (each deadman owns one: its lease rests on it).
     *
     * @param name used in logs and thread names
     * @param sessionTimeoutMs requested session timeout; the server may clamp it (see
     *        {@code getZookeeperClient().getZooKeeper().getSessionTimeout()})
     * @return a client that is not started yet; the caller starts and closes it
     */
    CuratorFramework newClient(String name, int sessionTimeoutMs);

    /**
     * The ensemble's tick time, which the lease argument depends on (followers report sessions to the leader every
     * tick/2), as far as a probe session can tell: ZooKeeper grants no session shorter than its minimum session
     * timeout (2 ticks unless configured otherwise), so a probe asking for a short one learns it. When the probe is
     * granted what it asked for, the tick is at most half of that: that bound is returned. Never blocks: the probe
     * runs in the background from the start and retries until it learns the tick.
     *
     * @return the tick time or an upper bound of it in milliseconds, 0 while it is not known
     */
    default int tickTimeMs() {
        return 0;
    }
}
