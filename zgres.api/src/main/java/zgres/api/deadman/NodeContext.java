package zgres.api.deadman;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

import org.osgi.annotation.versioning.ProviderType;

import zgres.api.NodeId;
import zgres.api.Role;

/** What a deadman tells its plugins about the local node. */
@ProviderType
public interface NodeContext {
    NodeId id();

    Role role();

    Path dataDirectory();

    /** @return a new connection to the local PostgreSQL; the caller closes it */
    Connection connect() throws SQLException;
}
