package zgres.deadman;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * Deadman settings shared by the nodes of a cluster, usually written to ZooKeeper ({@code zgres:config set
 * [scope] zgres.deadman.cluster key=value}) and mirrored here by the configuration bridge. Every key is optional;
 * a key that is present applies to every deadman of this runtime whose local {@code zgres.deadman~NAME}
 * configuration does not set it (local, then ZooKeeper, then the default), live (the deadman keeps its ZooKeeper
 * session and its lock). Only settings that can change live are accepted.
 */
@Component(configurationPid = ClusterSettings.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = ClusterSettings.class)
@Designate(ocd = ClusterSettings.Config.class)
public class ClusterSettings {
    public static final String PID = "zgres.deadman.cluster";

    /** The keys that may come from here (the same names as in {@code zgres.deadman}). */
    public static final Set<String> KEYS = Set.of("loop_wait_ms", "state_interval_ms", "maximum_lag_on_failover",
            "election_delay_ms", "election_timeout_ms", "crash_restart_timeout_ms", "follow_timeout_ms",
            "rewind_failure", "nofailover", "priority", "synchronous_mode", "synchronous_node_count", "history_limit",
            "replication_slots", "slot_drop_after_s", "max_slot_wal_keep_size_mb", "clone_methods", "failsafe");

    @ObjectClassDefinition(name = "zgres deadman cluster settings", description = "Live deadman settings for every "
            + "node in scope; a key applies where the local zgres.deadman~NAME configuration does not set it")
    public @interface Config {
        @AttributeDefinition(required = false, min = "10", description = "Loop interval, ms")
        int loop__wait__ms();

        @AttributeDefinition(required = false, min = "10", description = "Minimum interval between /state writes "
                + "that only move LSNs, ms")
        int state__interval__ms();

        @AttributeDefinition(required = false, min = "0", description = "Replicas further behind the master's last "
                + "position are not promoted, bytes")
        long maximum__lag__on__failover();

        @AttributeDefinition(required = false, min = "0", description = "Lock free this long before the best "
                + "candidate takes it, ms")
        int election__delay__ms();

        @AttributeDefinition(required = false, min = "1", description = "The next candidate may take the lock "
                + "after this, ms")
        int election__timeout__ms();

        @AttributeDefinition(required = false, min = "0", description = "A master whose PostgreSQL stays down "
                + "longer gives up the lock, ms")
        int crash__restart__timeout__ms();

        @AttributeDefinition(required = false, min = "0", description = "A standby on an older timeline not "
                + "streaming this long is rewound, ms")
        int follow__timeout__ms();

        @AttributeDefinition(required = false, description = "When pg_rewind fails: reclone or stop", options = {
                @Option(value = "reclone"), @Option(value = "stop")})
        String rewind__failure();

        @AttributeDefinition(required = false, description = "Never promote the nodes in scope automatically")
        boolean nofailover();

        @AttributeDefinition(required = false, description = "Higher wins among equally advanced candidates")
        int priority();

        @AttributeDefinition(required = false, description = "Synchronous replication: off, on or strict", options = {
                @Option(value = "off"), @Option(value = "on"), @Option(value = "strict")})
        String synchronous__mode();

        @AttributeDefinition(required = false, min = "1", description = "Synchronous standbys the master keeps")
        int synchronous__node__count();

        @AttributeDefinition(required = false, min = "1", description = "Entries kept in /history/{group}")
        int history__limit();

        @AttributeDefinition(required = false, description = "Replicas stream through a slot the master keeps")
        boolean replication__slots();

        @AttributeDefinition(required = false, min = "0", description = "A gone member's slot is dropped after "
                + "this, s")
        int slot__drop__after__s();

        @AttributeDefinition(required = false, min = "16", description = "The most WAL slots may hold back, MB")
        long max__slot__wal__keep__size__mb();

        @AttributeDefinition(required = false, description = "Clone methods tried in order")
        String[] clone__methods();

        @AttributeDefinition(required = false, description = "Ride out a ZooKeeper outage through the replication "
                + "stream")
        boolean failsafe();
    }

    private volatile Map<String, Object> values = Map.of();

    @Activate
    @Modified
    void configure(Map<String, Object> props) {
        Map<String, Object> v = new TreeMap<>();
        props.forEach((k, x) -> {
            if (KEYS.contains(k)) {
                v.put(k, x);
            }
        });
        values = Map.copyOf(v);
    }

    /** @return the settings present (only {@link #KEYS}) */
    public Map<String, Object> values() {
        return values;
    }
}
