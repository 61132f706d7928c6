package dev.roverlogout.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import dev.roverlogout.store.EmbeddedDatabase;

/**
 * One real embedded PostgreSQL for the whole test JVM (started on first use, stopped and its directory deleted at
 * exit); each test gets a fresh database in it. Queries here are blocking JDBC on the test thread, never on an
 * event loop.
 */
public final class TestPostgres {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static EmbeddedDatabase server;

    private TestPostgres() {
    }

    public static synchronized EmbeddedDatabase server() {
        if (server == null) {
            server = startInTempDirectory();
        }
        return server;
    }

    /** PostgreSQL in a new temporary directory, which a shutdown hook deletes once PostgreSQL has stopped. */
    private static EmbeddedDatabase startInTempDirectory() {
        Path root;
        try {
            root = Files.createTempDirectory("rlg-test-pg");
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        EmbeddedDatabase db;
        try {
            db = EmbeddedDatabase.start(root.resolve("pg"), 0);
        } catch (RuntimeException e) {
            GatewayProcess.deleteTree(root);
            throw e;
        }
        // hundreds of MB per test run; stop first, then delete: PostgreSQL writes into it until it has stopped
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                db.close();
            } finally {
                GatewayProcess.deleteTree(root);
            }
        }, "test-postgres-stop"));
        return db;
    }

    /** A new, empty database; returns its postgresql:// URL. */
    public static String newDatabase() {
        String name = "t" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
        try (Connection c = connect(server().url()); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return "postgresql://postgres@127.0.0.1:" + server().port() + "/" + name;
    }

    public static Connection connect(String url) throws SQLException {
        String rest = url.substring(url.indexOf('@') + 1);
        return DriverManager.getConnection("jdbc:postgresql://" + rest, "postgres", "");
    }

    /** The first column of every row of {@code sql}. */
    public static List<Object> column(String url, String sql, Object... params) {
        try (Connection c = connect(url); var ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            List<Object> values = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    values.add(rs.getObject(1));
                }
            }
            return values;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    public static long count(String url, String sql, Object... params) {
        return ((Number) column(url, sql, params).get(0)).longValue();
    }
}
