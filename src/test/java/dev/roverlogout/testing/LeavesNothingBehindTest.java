package dev.roverlogout.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.config.GatewayConfig;

/**
 * The test helpers delete the temporary data they create: a run of the suite used to leave an embedded PostgreSQL
 * (hundreds of MB) and a data directory per gateway in the temp directory, every time.
 */
class LeavesNothingBehindTest {
    private static final String PG_DIR = "test-postgres-dir=";

    @Test
    @DisplayName("a closed TestGateway leaves no data directory behind, not even one the gateway wrote into")
    void gatewayDataDirDeletedOnClose() throws Exception {
        Path dataDir;
        // no admin token configured: the gateway generates one into its data directory
        try (TestGateway gw = TestGateway.start(Map.of("RLG_AUTH_ADMINTOKEN", ""))) {
            dataDir = gw.gateway().config().dataDir();
            assertThat(dataDir.resolve("tokens.properties")).exists();
        }
        assertThat(dataDir).doesNotExist();
    }

    @Test
    @DisplayName("a config that never starts a gateway creates no data directory")
    void configAloneCreatesNoDataDir() {
        GatewayConfig config = TestGateway.config(Map.of());
        assertThat(config.dataDir()).doesNotExist();
    }

    @Test
    @DisplayName("the shared test PostgreSQL is stopped and its directory deleted when the test JVM exits")
    void testPostgresDeletedAtExit() throws Exception {
        // a JVM of its own, as the shared server lives until the JVM ends: this one's exits after starting it
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"), "-cp", System.getProperty("java.class.path"),
                LeavesNothingBehindTest.class.getName())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(output).isTrue();
        assertThat(p.exitValue()).as(output).isZero();
        Path dir = output.lines().filter(l -> l.startsWith(PG_DIR)).map(l -> Path.of(l.substring(PG_DIR.length())))
                .findFirst().orElseThrow(() -> new AssertionError("no " + PG_DIR + " line in: " + output));
        assertThat(dir).doesNotExist();
        List<ProcessHandle> postgres = ProcessHandle.allProcesses().filter(h -> h.info().commandLine()
                .map(c -> c.contains("postgres") && c.contains(dir.toString())).orElse(false)).toList();
        assertThat(postgres).as("PostgreSQL processes still on " + dir).isEmpty();
    }

    /** The other JVM of {@link #testPostgresDeletedAtExit}: starts the shared server, names its directory, exits. */
    public static void main(String[] args) {
        System.out.println(PG_DIR + TestPostgres.server().dataDir().getParent());
        System.exit(0); // runs the shutdown hooks, as at the end of a test run
    }
}
