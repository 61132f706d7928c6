package dev.roverlogout.store;

import java.util.Optional;

import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.config.GatewayConfig;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;

/**
 * Where the data lives: the configured server, or the embedded default; schema migrated by Flyway.
 * {@link #open} blocks (PostgreSQL start, JDBC migration) and must run before Vert.x serves, never on an event loop.
 */
public final class Database implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Database.class);

    private final String url;
    private final Optional<EmbeddedDatabase> embedded;

    private Database(String url, Optional<EmbeddedDatabase> embedded) {
        this.url = url;
        this.embedded = embedded;
    }

    /** Starts the embedded database when no URL is configured, then applies migrations. Blocking. */
    public static Database open(GatewayConfig.Database config) {
        Optional<EmbeddedDatabase> embedded = config.url().isPresent() ? Optional.empty()
                : Optional.of(EmbeddedDatabase.start(config.embeddedDir(), 0));
        String url = config.url().orElseGet(() -> embedded.orElseThrow().url());
        try {
            migrate(url);
        } catch (RuntimeException e) {
            embedded.ifPresent(EmbeddedDatabase::close);
            throw new DatabaseStartException("cannot migrate the database schema: " + rootMessage(e), e);
        }
        embedded.ifPresent(db -> log.info("Embedded PostgreSQL running on port {} with data in {}", db.port(), db.dataDir()));
        return new Database(url, embedded);
    }

    /** Applies the Flyway migrations in classpath:db/migration. Blocking (JDBC). */
    public static void migrate(String url) {
        PgConnectOptions o = PgConnectOptions.fromUri(url);
        String jdbc = "jdbc:postgresql://" + o.getHost() + ":" + o.getPort() + "/" + o.getDatabase();
        Flyway.configure()
                .dataSource(jdbc, o.getUser(), o.getPassword())
                .locations("classpath:db/migration")
                .connectRetries(5)
                .load()
                .migrate();
    }

    /** The reactive pool: pipelined connections, and a bounded wait for a connection so ingest can answer 503. */
    public Pool pool(Vertx vertx, GatewayConfig.Database config) {
        return pool(vertx, url, config.poolSize(), config.connectTimeout().toMillis());
    }

    public static Pool pool(Vertx vertx, String url, int size, long connectTimeoutMillis) {
        PgConnectOptions connect = PgConnectOptions.fromUri(url)
                .setPipeliningLimit(256)
                .setCachePreparedStatements(true)
                // the default cache skips statements over 2 KiB: the ingest CTE would be parsed and planned every time
                .setPreparedStatementCacheSqlLimit(16 * 1024)
                // the ingest statement is a large CTE: planning it for every group costs more than running it
                .addProperty("plan_cache_mode", "force_generic_plan")
                // a generic plan made while a table is small would seq-scan it for every event forever after; every
                // hot statement of the gateway is meant to run on an index, so never prefer a seq scan
                .addProperty("enable_seqscan", "off")
                // that setting prices any plan with a seq scan (of a tiny table, say) at 10^10, far above jit_above_cost:
                // on a server built with LLVM every such statement was JIT-compiled, 100-250 ms each (the heartbeat,
                // lease and queue-statistics statements), for statements that run in well under a millisecond
                .addProperty("jit", "off")
                // a 202 promises durability: never inherit a role or database default of synchronous_commit=off
                .addProperty("synchronous_commit", "on");
        NetClientOptions tcp = new NetClientOptions()
                .setConnectTimeout((int) connectTimeoutMillis)
                .setTcpKeepAlive(true)
                .setTcpNoDelay(true);
        PoolOptions pool = new PoolOptions()
                .setName("rlg-db")
                .setMaxSize(size)
                .setMaxWaitQueueSize(10_000)
                .setConnectionTimeout((int) connectTimeoutMillis)
                .setConnectionTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS);
        return PgBuilder.pool().with(pool).with(tcp).connectingTo(connect).using(vertx).build();
    }

    public String url() {
        return url;
    }

    public Optional<EmbeddedDatabase> embedded() {
        return embedded;
    }

    /** Stops the embedded database, if any. Blocking. */
    @Override
    public void close() {
        embedded.ifPresent(EmbeddedDatabase::close);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage();
    }
}
