package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import zgres.api.NodeId;
import zgres.testkit.Group;
import zgres.testkit.Identities;
import zgres.testkit.NodeProcess;
import zgres.testkit.OsUser;
import zgres.testkit.Pg;
import zgres.testkit.Profile;
import zgres.testkit.RuntimeProcess;

/**
 * The control plane nobody can abuse, on a real group whose ZooKeeper serves only authenticated clients: anonymous,
 * read-only and wrongly authenticated clients are refused every write of the layout and change nothing; an operator
 * cannot make a runtime run a program, name a file or change authentication through {@code /config} (nor through
 * {@code zgres:config set}); the nodes run as an unprivileged user; a misspelled key in a local file is an error.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ControlPlaneAcceptanceTest {
    static final String GROUP = "ctrl";
    static final String PAYLOAD = "intruder-was-here";
    Group g;

    @BeforeAll
    void start() throws Exception {
        g = new Group(GROUP, 2, Profile.ACCEPTANCE, 1, Map.of());
        g.start();
    }

    @AfterAll
    void stop() throws Exception {
        if (g != null) {
            g.close();
        }
    }

    /** Every znode under the root, with its data (what the attempts must leave alone). */
    Map<String, String> tree() throws Exception {
        Map<String, String> all = new TreeMap<>();
        walk("/zgres", all);
        return all;
    }

    void walk(String path, Map<String, String> out) throws Exception {
        try {
            out.put(path, new String(g.observer().getData().forPath(path), StandardCharsets.UTF_8));
            for (String c : g.observer().getChildren().forPath(path)) {
                walk(path + "/" + c, out);
            }
        } catch (KeeperException.NoNodeException e) {
            // an ephemeral gone meanwhile
        }
    }

    /** A plain ZooKeeper client (no Curator retries: every refusal is seen as it comes). */
    ZooKeeper client(byte[] digest) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(g.zookeeper().connectString(), 10_000, e -> {
            if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                connected.countDown();
            }
        });
        assertThat(connected.await(10, TimeUnit.SECONDS)).isTrue();
        if (digest != null) {
            zk.addAuthInfo("digest", digest);
        }
        return zk;
    }

    /** The writes an intruder would try: create in every directory, change and delete what is there. */
    List<String> attempts(Map<String, String> before) {
        List<String> a = new ArrayList<>();
        String lock = "/zgres/lock/" + GROUP;
        String dbId = "/zgres/static/" + GROUP + "-db-id";
        for (String dir : List.of("state", "conn", "lock", "static", "history", "sync", "switchover", "pause",
                "config")) {
            a.add("create /zgres/" + dir + "/" + PAYLOAD);
        }
        a.add("create /zgres/" + PAYLOAD);
        a.add("create /zgres/config/all/zgres.plugin.apply~" + PAYLOAD);
        for (String p : before.keySet()) {
            if (p.startsWith("/zgres/state/") || p.startsWith("/zgres/conn/") || p.equals(lock) || p.equals(dbId)
                    || p.startsWith("/zgres/history/") || p.startsWith("/zgres/config/")) {
                a.add("set " + p);
                a.add("delete " + p);
            }
        }
        a.add("set /zgres");
        a.add("acl " + lock);
        return a;
    }

    /** @return what happened: "refused (reason)" or "DONE" */
    static String attempt(ZooKeeper zk, String what) {
        String[] w = what.split(" ", 2);
        byte[] data = PAYLOAD.getBytes(StandardCharsets.UTF_8);
        try {
            switch (w[0]) {
                case "create" -> zk.create(w[1], data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
                case "set" -> zk.setData(w[1], data, -1);
                case "delete" -> zk.delete(w[1], -1);
                case "acl" -> zk.setACL(w[1], ZooDefs.Ids.OPEN_ACL_UNSAFE, -1);
                default -> throw new IllegalArgumentException(what);
            }
            return "DONE";
        } catch (KeeperException e) {
            return "refused (" + e.code() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    @Test
    @Order(1)
    void anonymousReadOnlyAndWronglyAuthenticatedClientsAreRefusedEveryWriteAndNothingChanges() throws Exception {
        // something in /config to attack too, and every directory there (a refusal must come from the ACL, not
        // from a missing parent)
        g.observer().create().creatingParentsIfNeeded().forPath("/zgres/config/all/zgres.sync",
                "{\"debounce_ms\": 20}".getBytes(StandardCharsets.UTF_8));
        for (String dir : List.of("sync", "switchover", "pause", "history")) {
            if (g.observer().checkExists().forPath("/zgres/" + dir) == null) {
                g.observer().create().forPath("/zgres/" + dir);
            }
        }
        Map<String, String> before = tree();
        assertThat(before).containsKeys("/zgres/lock/" + GROUP, "/zgres/static/" + GROUP + "-db-id");
        List<String> tried = attempts(before);
        Identities ids = g.identities();
        Map<String, byte[]> who = new TreeMap<>();
        who.put("anonymous", null);
        who.put("sync (read-only)", ids.auth(Identities.Role.SYNC));
        who.put("wrong password", "zgres-operator:not-the-password".getBytes(StandardCharsets.UTF_8));
        int refused = 0;
        for (Map.Entry<String, byte[]> c : who.entrySet()) {
            for (String what : tried) {
                // a new session per attempt: ZooKeeper closes an anonymous one at its first request
                ZooKeeper zk = client(c.getValue());
                try {
                    String r = attempt(zk, what);
                    System.out.println(c.getKey() + ": " + what + " -> " + r);
                    assertThat(r).as(c.getKey() + ": " + what).startsWith("refused").doesNotContain("NONODE");
                    refused++;
                } finally {
                    zk.close();
                }
            }
        }
        System.out.println(refused + " writes refused");
        // the read-only identity reads; the others do not
        ZooKeeper sync = client(ids.auth(Identities.Role.SYNC));
        try {
            assertThat(sync.getData("/zgres/lock/" + GROUP, false, new Stat())).isNotEmpty();
        } finally {
            sync.close();
        }
        ZooKeeper wrong = client(who.get("wrong password"));
        try {
            assertThat(attemptRead(wrong, "/zgres/lock/" + GROUP)).startsWith("refused");
        } finally {
            wrong.close();
        }
        Map<String, String> after = tree();
        assertThat(after.keySet()).noneMatch(p -> p.contains(PAYLOAD));
        assertThat(after.values()).noneMatch(v -> v.contains(PAYLOAD));
        for (String p : before.keySet()) {
            if (!p.startsWith("/zgres/state/")) { // states are republished by their nodes meanwhile
                assertThat(after).as("still there: " + p).containsKey(p);
            }
        }
        assertThat(after.get("/zgres/lock/" + GROUP)).isEqualTo(before.get("/zgres/lock/" + GROUP));
        assertThat(g.state().masterConn()).as("the group did not notice").isPresent();
    }

    static String attemptRead(ZooKeeper zk, String path) throws InterruptedException {
        try {
            zk.getData(path, false, new Stat());
            return "DONE";
        } catch (KeeperException e) {
            return "refused (" + e.code() + ")";
        }
    }

    @Test
    @Order(2)
    void anOperatorCannotMakeARuntimeRunAProgramOrChangeAuthenticationThroughZooKeeper() throws Exception {
        Path dir = Files.createTempDirectory("zgres-ctrl-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path marker = dir.resolve("ran");
        Path exe = dir.resolve("payload.sh");
        Files.writeString(exe, "#!/bin/sh\ntouch " + marker + "\n");
        Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("rwxr-xr-x"));

        // 1. the shell refuses before writing anything
        Group.CtlResult set = g.ctl("config", "set", "all", "zgres.plugin.apply~x", "path=" + dir.resolve("x.json"),
                "executables=" + exe);
        assertThat(set.exitCode()).isEqualTo(1);
        assertThat(set.out()).contains("refused, nothing written").contains("zgres.plugin.apply~x: path is local-only")
                .contains("executables is local-only: it names a program");
        assertThat(g.observer().checkExists().forPath("/zgres/config/all/zgres.plugin.apply~x")).isNull();
        Group.CtlResult archive = g.ctl("config", "set", GROUP, "zgres.deadman~n1",
                "pg_parameters=archive_command = '" + exe + "'");
        assertThat(archive.exitCode()).isEqualTo(1);
        assertThat(archive.out()).contains("pg_parameters is local-only");

        // 2. written straight into ZooKeeper by an operator: every runtime's bridge refuses it
        Map<String, String> hostile = new TreeMap<>();
        hostile.put("/zgres/config/all/zgres.plugin.apply~x", "{\"path\": \"" + dir.resolve("x.json")
                + "\", \"executables\": [\"" + exe + "\"]}");
        hostile.put("/zgres/config/all/zgres.plugin.apply~y", "{\"timeout_ms\": 1000}");
        hostile.put("/zgres/config/" + GROUP + "/zgres.deadman~n1", "{\"pg_parameters\": [\"archive_mode = on\", "
                + "\"archive_command = '" + exe + "'\"]}");
        hostile.put("/zgres/config/all/zgres.zookeeper", "{\"connect\": \"203.0.113.1:2181\"}");
        hostile.put("/zgres/config/all/zgres.metadata.zone", "{\"zone_file\": \"" + dir.resolve("pgpass") + "\"}");
        hostile.put("/zgres/config/all/zgres.plugin.pgbouncer~x", "{\"auth_users\": [\"evil:evil\"]}");
        // and one legitimate change, to know when the bridges have seen everything
        hostile.put("/zgres/config/" + GROUP + "/zgres.deadman.cluster", "{\"priority\": 7}");
        for (Map.Entry<String, String> e : hostile.entrySet()) {
            g.observer().create().creatingParentsIfNeeded().forPath(e.getKey(),
                    e.getValue().getBytes(StandardCharsets.UTF_8));
        }
        try {
            for (NodeProcess n : g.nodes()) {
                NodeId id = g.id(n);
                g.await(n.name() + " takes the legitimate change", 30_000, s -> s.state(id).map(x -> x.tags()
                        .priority() == 7).orElse(false));
            }
            Thread.sleep(2000); // time enough for a program to have run
            assertThat(marker).as("no program ran").doesNotExist();
            for (NodeProcess n : g.nodes()) {
                String log = Files.readString(n.log());
                assertThat(log).contains("config: refused /zgres/config/all/zgres.plugin.apply~x")
                        .contains("zgres.plugin.apply~y is not in this runtime's local file")
                        .contains("zgres.zookeeper is local-only")
                        .contains("zgres.metadata.zone: zone_file is local-only")
                        .contains("auth_users is local-only: it is a secret");
                assertThat(Pg.one(n.host(), n.port(), "SHOW archive_command")).as(n.name()).isIn("", "(disabled)");
            }
            String n1 = Files.readString(g.nodes().get(0).log());
            assertThat(n1).contains("zgres.deadman~n1: pg_parameters is local-only");
        } finally {
            for (String p : hostile.keySet()) {
                g.observer().delete().quietly().forPath(p);
            }
        }
    }

    @Test
    @Order(3)
    void theNodesAndTheirPostgresRunAsAnUnprivilegedUser() throws Exception {
        for (NodeProcess n : g.nodes()) {
            assertThat(owner(n.pid())).as(n.name() + "'s JVM").isNotEqualTo("root").isEqualTo(n.user());
            long postmaster = n.postmasterPid().orElseThrow();
            assertThat(owner(postmaster)).as(n.name() + "'s postmaster").isNotEqualTo("root");
            // the supervisor the JVM runs comes from a private directory of the JVM's user
            long supervisor = ProcessHandle.of(postmaster).flatMap(ProcessHandle::parent).map(ProcessHandle::pid)
                    .orElseThrow();
            String cmd = Files.readString(Path.of("/proc/" + supervisor + "/cmdline")).replace('\0', ' ');
            Path script = Path.of(cmd.split(" ")[1]);
            assertThat(script.getFileName().toString()).isEqualTo("supervisor.pl");
            assertThat(Files.getOwner(script.getParent()).getName()).isEqualTo(n.user());
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(script.getParent())))
                    .isEqualTo("rwx------");
        }
        if (OsUser.root()) {
            Process p = new ProcessBuilder("bash", Path.of("..", "zgres").toAbsolutePath().normalize().toString(),
                    "node", "--config", "/nonexistent.json").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(2);
            assertThat(out).contains("refusing to run as root");
        }
    }

    @Test
    @Order(4)
    void aMisspelledKeyInALocalFileIsAnErrorAndNothingStarts() throws Exception {
        NodeProcess n3 = new NodeProcess("n3", g.nodes().get(0).dir(), RuntimeProcess.jar(), g.identities()
                .runtimeConfig(Identities.Role.NODE, g.zookeeper().connectString(), g.credentialsDir(),
                        OsUser.runtimeUser()), Map.of("group", GROUP, "host", "127.0.0.1", "port", Group.freePort(),
                                "data_dir", g.nodes().get(0).dir().resolve("n3").toString(), "superuser_pasword",
                                Pg.PASSWORD, "replication_password", Pg.PASSWORD), List.of("-Xmx128m"));
        try (n3) {
            n3.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (n3.count("superuser_pasword") == 0 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            String log = Files.readString(n3.log());
            assertThat(log).contains("zgres.deadman~n3").contains("superuser_pasword");
            Thread.sleep(2000);
            assertThat(n3.dataDir()).as("nothing bootstrapped").doesNotExist();
            assertThat(g.state().states().keySet()).noneMatch(id -> id.port() == n3.port());
        }
    }

    static String owner(long pid) throws IOException {
        return Files.getOwner(Path.of("/proc/" + pid)).getName();
    }
}
