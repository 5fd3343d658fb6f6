package zgres.deadman.provision;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ConnInfo;
import zgres.api.clone.CloneMethod;
import zgres.api.clone.CloneRequest;
import zgres.deadman.pg.ControlData;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.SourceCheck;

/**
 * Builds a replica's data directory with the installed {@link CloneMethod}s, in the order {@code clone_methods} lists
 * them, each into {@code <data_dir>.clone} next to the data directory: only a build that succeeded and belongs to
 * the group (its pg_control's system identifier is the group's db-id) is renamed into place. A build that fails,
 * or a deadman killed during one, leaves nothing anyone would start: the next attempt removes the incomplete
 * {@code .clone} directory (no PostgreSQL ever ran from it) and starts again. Runs off the loop.
 */
public final class Cloner {
    private static final Logger LOG = LoggerFactory.getLogger(Cloner.class);

    /** How a replica was built: published in /state ({@code clone}) and listed by {@code zgres:list}. */
    public record Built(String method, long millis, Instant at, List<String> failed) {
        /** @return e.g. {@code pgbackrest in 12.3 s at 2026-11-30T17:00:00Z} */
        public String describe() {
            return method + " in " + String.format(java.util.Locale.ROOT, "%.1f", millis / 1000.0) + " s at "
                    + at.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                    + (failed.isEmpty() ? "" : " (after " + String.join(", ", failed) + " failed)");
        }
    }

    private final String name;
    private final PgNode pg;
    private final Supplier<List<CloneMethod>> installed;
    private final Supplier<List<String>> order;
    private volatile Optional<Built> last = Optional.empty();

    public Cloner(String name, PgNode pg, Supplier<List<CloneMethod>> installed, Supplier<List<String>> order) {
        this.name = name;
        this.pg = pg;
        this.installed = installed;
        this.order = order;
    }

    /** @return how this deadman last built its replica */
    public Optional<Built> last() {
        return last;
    }

    /**
     * @return how the data directory in use was built (kept next to it, in the node's run directory, so that it
     *         outlives the deadman), or empty for one made by initdb or by hand
     */
    public Optional<String> builtBy() {
        Optional<Built> b = last;
        if (b.isPresent()) {
            return Optional.of(b.get().describe());
        }
        try {
            Path f = record();
            if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS) && Files.size(f) < 1024) {
                String s = Files.readString(f).strip();
                return s.isEmpty() || !s.matches("[\\x20-\\x7e]+") ? Optional.empty() : Optional.of(s);
            }
        } catch (IOException e) {
            LOG.debug("[{}] {}: {}", name, record(), e.toString());
        }
        return Optional.empty();
    }

    private Path record() {
        Path d = pg.dataDir().toAbsolutePath();
        return d.resolveSibling(d.getFileName() + ".zgres").resolve("built-by");
    }

    /**
     * @return the configured clone methods in order, each marked when its plugin is not installed (published in
     *         {@code /state} as {@code clone_methods})
     */
    public String availability() {
        List<String> installedNames = installed.get().stream().map(Cloner::safeName).toList();
        List<String> out = new ArrayList<>();
        for (String m : order.get()) {
            out.add(installedNames.contains(m) ? m : m + " (not installed)");
        }
        return String.join(", ", out);
    }

    /** @return where a build happens before it is moved into place */
    public Path staging() {
        Path d = pg.dataDir().toAbsolutePath();
        return d.resolveSibling(d.getFileName() + ".clone");
    }

    /**
     * Builds the data directory (which must be missing or empty) with the first method that succeeds.
     *
     * @throws IOException naming every method tried and why it failed
     */
    public Built clone(Optional<ConnInfo> master, String dbId) throws IOException {
        if (!pg.data().empty()) {
            throw new IOException("refusing to clone into " + pg.dataDir() + ": it is not empty");
        }
        String conninfo = "";
        if (master.isPresent()) {
            try {
                pg.checkCloneSource(master.get(), dbId);
            } catch (SourceCheck.Refused e) {
                throw e; // a server that is not this group's: no method may use it
            } catch (IOException e) {
                LOG.warn("[{}] could not check the master {} before cloning ({}): methods that need it will fail",
                        name, master.get().address(), e.getMessage());
            }
            conninfo = pg.libpq().conninfo(master.get(), pg.spec().replicationUser(), true);
        }
        List<String> failed = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        List<CloneMethod> methods = installed.get();
        for (String wanted : order.get()) {
            Optional<CloneMethod> m = methods.stream().filter(x -> wanted.equals(safeName(x))).findFirst();
            if (m.isEmpty()) {
                reasons.add(wanted + ": not installed");
                continue;
            }
            Path target = staging();
            removeIncomplete(target);
            pg.tools().createDirectory(target, "rwx------");
            long t0 = System.nanoTime();
            LOG.warn("[{}] building the replica with {}{} into {}", name, wanted, master.map(x -> " (master "
                    + x.address() + ")").orElse(""), target);
            try {
                m.get().build(new CloneRequest(pg.local(), target, master, conninfo, pg.libpqEnv(), dbId));
                verify(target, dbId);
            } catch (Exception e) {
                String why = e.getMessage() == null ? e.toString() : e.getMessage().replace('\n', ' ');
                LOG.error("[{}] clone method {} failed after {} s: {}{}", name, wanted, TimeUnit.NANOSECONDS
                        .toSeconds(System.nanoTime() - t0), why, reasons.size() + 1 < order.get().size()
                                ? "; trying the next method" : "");
                failed.add(wanted);
                reasons.add(wanted + ": " + why);
                removeIncomplete(target);
                continue;
            }
            moveIntoPlace(target);
            Built b = new Built(wanted, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), Instant.now(),
                    List.copyOf(failed));
            last = Optional.of(b);
            try {
                pg.tools().writeFile(record(), b.describe() + "\n", "rw-------");
            } catch (IOException e) {
                LOG.warn("[{}] could not record how the replica was built in {}: {}", name, record(), e.getMessage());
            }
            LOG.warn("[{}] replica built by {}", name, b.describe());
            return b;
        }
        throw new IOException("no clone method built the replica (clone_methods " + order.get() + "): "
                + String.join("; ", reasons));
    }

    private static String safeName(CloneMethod m) {
        try {
            return m.name();
        } catch (RuntimeException e) {
            return "";
        }
    }

    /** The build must be a cluster of this group: a backup repository of another cluster is refused here. */
    private void verify(Path target, String dbId) throws IOException {
        if (!Files.isRegularFile(target.resolve("PG_VERSION")) || !Files.isRegularFile(target.resolve(
                "global/pg_control"))) {
            throw new IOException("the method left no PostgreSQL data directory in " + target);
        }
        String id = ControlData.read(pg.tools(), target).systemId();
        if (!dbId.isEmpty() && !id.equals(dbId)) {
            throw new IOException("the data directory it built belongs to system " + id + ", not to the group's "
                    + dbId);
        }
    }

    private void moveIntoPlace(Path target) throws IOException {
        Path d = pg.dataDir().toAbsolutePath();
        if (Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
            if (!pg.data().empty()) {
                throw new IOException(d + " is no longer empty: the build stays in " + target);
            }
            Files.delete(d);
        }
        Files.move(target, d, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Removes what an interrupted or failed build left in the staging directory (nothing ever started from it). */
    private void removeIncomplete(Path target) throws IOException {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isSymbolicLink(target) || !Files.isDirectory(target)) {
            throw new IOException(target + " is not a directory: refusing to touch it");
        }
        LOG.warn("[{}] removing the incomplete build in {} (a clone that failed or was interrupted; PostgreSQL never "
                + "ran from it)", name, target);
        Files.walkFileTree(target, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Files.delete(f);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
