package zgres.plugin.pghba;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.HostName;
import zgres.api.ClusterSnapshot;
import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.sync.SyncPlugin;
import zgres.process.AtomicFile;
import zgres.process.Signals;

/**
 * Keeps the replication entries of a node's {@code pg_hba.conf} in step with its group's members: one
 * {@code host replication <user> <address>/32 <method>} line per member, in a marked block at the top of the file
 * (the rest of the file is never touched). When the block changes the file is rewritten atomically (owner and mode
 * kept) and PostgreSQL reloaded (SIGHUP to the postmaster).
 */
public class PgHbaSync implements SyncPlugin {
    private static final Logger LOG = LoggerFactory.getLogger(PgHbaSync.class);
    static final String BEGIN = "# BEGIN zgres replication members (managed by zgres, do not edit)";
    static final String END = "# END zgres replication members";

    public record Settings(String name, String group, Path hbaFile, Path dataDir, String user, String method) {}

    private final Settings settings;

    public PgHbaSync(Settings settings) {
        this.settings = settings;
    }

    /** The block for the group's members (every node publishing a state, healthy or not). */
    String block(ClusterSnapshot s) {
        TreeSet<String> addresses = new TreeSet<>();
        GroupState g = s.group(settings.group()).orElse(GroupState.empty(settings.group()));
        for (NodeId id : g.states().keySet()) {
            addresses.add(cidr(id.host()));
        }
        StringBuilder sb = new StringBuilder(BEGIN).append('\n');
        for (String a : addresses) {
            sb.append("host replication ").append(settings.user()).append(' ').append(a).append(' ')
                    .append(settings.method()).append('\n');
        }
        return sb.append(END).append('\n').toString();
    }

    static String cidr(String host) {
        HostName.require(host); // checked again where it is written: one pg_hba.conf line per member
        try {
            InetAddress a = InetAddress.getByName(host);
            return a.getHostAddress() + (a instanceof Inet6Address ? "/128" : "/32");
        } catch (IOException e) {
            return host;
        }
    }

    /** @return the file with its managed block replaced (or put first) */
    static String merge(String file, String block) {
        List<String> out = new ArrayList<>();
        boolean inBlock = false;
        boolean placed = false;
        for (String line : file.split("\n", -1)) {
            if (line.equals(BEGIN)) {
                inBlock = true;
                continue;
            }
            if (inBlock) {
                if (line.equals(END)) {
                    inBlock = false;
                    if (!placed) {
                        out.add(block.stripTrailing());
                        placed = true;
                    }
                }
                continue;
            }
            out.add(line);
        }
        String rest = String.join("\n", out);
        return placed ? rest : block + rest;
    }

    @Override
    public synchronized void apply(ClusterSnapshot snapshot) throws Exception {
        Path f = settings.hbaFile();
        String current = Files.readString(f);
        String wanted = merge(current, block(snapshot));
        if (wanted.equals(current)) {
            return;
        }
        PosixFileAttributes attrs = Files.readAttributes(f, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        // the same mode and owner as the file it replaces (PostgreSQL's user must read it)
        AtomicFile.write(f, wanted.getBytes(java.nio.charset.StandardCharsets.UTF_8), attrs.permissions(), tmp -> {
            PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS);
            try {
                view.setOwner(attrs.owner());
                view.setGroup(attrs.group());
            } catch (IOException e) {
                LOG.debug("[{}] keeping the owner of {}: {}", settings.name(), f, e.toString());
            }
        });
        LOG.info("[{}] updated the replication entries of {}", settings.name(), f);
        reload();
    }

    private void reload() throws IOException {
        Optional<Long> pid = Signals.pidOf(settings.dataDir().resolve("postmaster.pid"));
        if (pid.isEmpty()) {
            LOG.info("[{}] PostgreSQL is not running: the new pg_hba.conf applies when it starts", settings.name());
            return;
        }
        Signals.send(pid.get(), "HUP");
        LOG.info("[{}] reloaded PostgreSQL (pid {})", settings.name(), pid.get());
    }
}
