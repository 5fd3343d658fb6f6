package zgres.deadman.plugin;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

import zgres.api.NodeId;
import zgres.api.Role;
import zgres.api.deadman.NodeContext;

/** The local node as plugins see it: its identity, role, data directory and a way to connect. */
public record LocalNode(NodeId id, Role role, Path dataDirectory, Connector connector) implements NodeContext {

    /** Opens a new connection to the local PostgreSQL. */
    @FunctionalInterface
    public interface Connector {
        Connection open() throws SQLException;
    }

    @Override
    public Connection connect() throws SQLException {
        return connector.open();
    }
}
