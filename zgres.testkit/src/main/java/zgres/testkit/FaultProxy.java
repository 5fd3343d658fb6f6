package zgres.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy that can cut a connection the way a network does. {@link Mode#BLACKHOLE} is a partition: connections
 * stay open but nothing gets through, so each side only sees silence and times out; like TCP retransmitting, the
 * bytes sent meanwhile are held, not lost, and arrive when the link heals ({@link Mode#PASS}) on the connections
 * their ends have not closed. (Dropping them would break the byte stream in a way no network does: a ZooKeeper client
 * would keep its connection and silently miss watch events.) {@link Mode#RESET} closes every connection and refuses
 * new ones.
 */
public final class FaultProxy implements AutoCloseable {
    public enum Mode {
        PASS, BLACKHOLE, RESET
    }

    private final ServerSocket server;
    private final InetSocketAddress target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile Mode mode = Mode.PASS;
    private volatile boolean closed;

    public FaultProxy(String targetHost, int targetPort) throws IOException {
        this.target = new InetSocketAddress(targetHost, targetPort);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::accept, "fault-proxy-" + server.getLocalPort());
        t.setDaemon(true);
        t.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    public String address() {
        return "127.0.0.1:" + port();
    }

    public Mode mode() {
        return mode;
    }

    public void mode(Mode m) {
        synchronized (this) {
            mode = m;
            notifyAll();
        }
        if (m == Mode.RESET) {
            for (Socket s : sockets) {
                try {
                    s.setSoLinger(true, 0);
                    s.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
            sockets.clear();
        }
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                if (mode == Mode.RESET) {
                    client.setSoLinger(true, 0);
                    client.close();
                    continue;
                }
                Socket upstream = new Socket();
                try {
                    upstream.connect(target, 2000);
                } catch (IOException e) {
                    client.close();
                    continue;
                }
                sockets.add(client);
                sockets.add(upstream);
                pump(client, upstream);
                pump(upstream, client);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream()) {
                OutputStream out = to.getOutputStream();
                int n;
                while (awaitLink() && (n = in.read(buf)) >= 0) {
                    if (!awaitLink()) {
                        break;
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // connection ended
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // closing
                }
                sockets.remove(from);
                sockets.remove(to);
            }
        }, "fault-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    /** Holds the caller while the link is a black hole; @return false once it is reset or the proxy closed. */
    private synchronized boolean awaitLink() {
        while (mode == Mode.BLACKHOLE && !closed) {
            try {
                wait(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return mode == Mode.PASS && !closed;
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        mode(Mode.RESET);
    }
}
