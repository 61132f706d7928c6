package dev.roverlogout.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * The embedded default: a real PostgreSQL (zonky binaries) on a data directory that is kept across restarts.
 *
 * <p>zonky is made for throw-away test databases and starts PostgreSQL with {@code -F} (fsync off) and
 * {@code synchronous_commit=off}. We turn both back on: a 202 promises the check-in is durable.
 *
 * <p>One gateway per directory: an exclusive lock on {@code <dir>.lock} is taken before PostgreSQL is touched,
 * so a second gateway fails with a clear message instead of sharing (or corrupting) the cluster. A postmaster
 * left running by a gateway that was killed with SIGKILL is stopped before the new one starts.
 */
public final class EmbeddedDatabase implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

    private final Path dataDir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final EmbeddedPostgres postgres;

    private EmbeddedDatabase(Path dataDir, FileChannel lockChannel, FileLock lock, EmbeddedPostgres postgres) {
        this.dataDir = dataDir;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.postgres = postgres;
    }

    /** Starts (blocking; call off the event loop) PostgreSQL on {@code dataDir}, on {@code port} (0 = any free). */
    public static EmbeddedDatabase start(Path dataDir, int port) {
        Path absolute = dataDir.toAbsolutePath().normalize();
        FileChannel channel = null;
        try {
            Files.createDirectories(absolute.getParent());
            Path lockFile = absolute.resolveSibling(absolute.getFileName() + ".lock");
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = tryLock(channel);
            if (lock == null) {
                channel.close();
                throw new DatabaseStartException("the embedded database directory " + absolute
                        + " is in use by another gateway (lock " + lockFile + " is held); stop it or set database.embeddedDir");
            }
            stopOrphanedPostmaster(absolute);
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setDataDirectory(absolute.toFile())
                    .setCleanDataDirectory(false)
                    .setRegisterShutdownHook(false)
                    .setPGStartupWait(Duration.ofSeconds(60))
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("full_page_writes", "on")
                    .setServerConfig("max_connections", "200");
            if (port > 0) {
                builder.setPort(port);
            }
            return new EmbeddedDatabase(absolute, channel, lock, builder.start());
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            if (e instanceof DatabaseStartException dse) {
                throw dse;
            }
            throw new DatabaseStartException("cannot start embedded PostgreSQL in " + absolute + ": " + e.getMessage(), e);
        }
    }

    private static FileLock tryLock(FileChannel channel) throws IOException {
        try {
            return channel.tryLock();
        } catch (OverlappingFileLockException e) {
            return null; // held by this very JVM (a second gateway in the same process)
        }
    }

    /** After a SIGKILL of the gateway its postmaster lives on; we hold the directory lock, so it is ours to stop. */
    private static void stopOrphanedPostmaster(Path dir) throws IOException {
        Path pidFile = dir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        List<String> lines = Files.readAllLines(pidFile, StandardCharsets.US_ASCII);
        Optional<ProcessHandle> postmaster = lines.isEmpty() ? Optional.empty()
                : parsePid(lines.get(0)).flatMap(ProcessHandle::of).filter(ProcessHandle::isAlive)
                        .filter(p -> p.info().command().map(c -> c.endsWith("postgres")).orElse(false));
        if (postmaster.isEmpty()) {
            return; // stale pid file: PostgreSQL itself handles it
        }
        ProcessHandle p = postmaster.get();
        log.warn("Stopping PostgreSQL (pid {}) left running on {} by a gateway that did not shut down", p.pid(), dir);
        p.destroy();
        try {
            p.onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("PostgreSQL pid {} did not stop within 60s; killing it (crash recovery follows)", p.pid());
            p.destroyForcibly();
        }
    }

    private static Optional<Long> parsePid(String line) {
        try {
            return Optional.of(Long.parseLong(line.trim()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    public int port() {
        return postgres.getPort();
    }

    /** URL of the default database, as {@code database.url} would give it. */
    public String url() {
        return "postgresql://postgres@127.0.0.1:" + port() + "/postgres";
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Stops PostgreSQL (fast shutdown) and releases the directory. Blocking. */
    @Override
    public void close() {
        try {
            postgres.close();
        } catch (IOException e) {
            log.error("Could not stop embedded PostgreSQL in {}", dataDir, e);
        }
        try {
            lock.release();
        } catch (IOException e) {
            log.warn("Could not release lock on {}", dataDir, e);
        }
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing left to do
            }
        }
    }
}
