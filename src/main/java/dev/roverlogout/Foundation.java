package dev.roverlogout;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.Map;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.epic.MasterKey;
import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.http.TokenStore;
import dev.roverlogout.store.Database;

/**
 * What the gateway needs before anything can run, all of it blocking work done once on a worker thread: the database
 * (the embedded PostgreSQL started, the schema migrated), the bearer tokens, the master key, and the two ports.
 */
record Foundation(Database database, Map<BearerAuth.Role, String> tokens, MasterKey masterKey, int publicPort,
                  int managementPort) implements AutoCloseable {

    /** Blocking: never on an event loop. On failure nothing is left running. */
    static Foundation open(GatewayConfig config) {
        Database database = Database.open(config.database());
        try {
            return new Foundation(database, TokenStore.resolve(config.auth(), config.dataDir()),
                    MasterKey.resolve(config.masterKey(), config.dataDir(), !config.database().embedded()),
                    portOrFree(config.http().port()), portOrFree(config.management().port()));
        } catch (RuntimeException e) {
            database.close();
            throw e;
        }
    }

    /** Port 0 = a free port chosen now, so that every instance of a server binds the same one. */
    private static int portOrFree(int port) {
        if (port != 0) {
            return port;
        }
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the embedded database, if any. Blocking. */
    @Override
    public void close() {
        database.close();
    }
}
