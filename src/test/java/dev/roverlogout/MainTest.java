package dev.roverlogout;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

/** The command line as an operator meets it: exit codes and the one-line error (contract §2). */
class MainTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    @DisplayName("a bad configuration value exits 2 with one line on stderr naming the key")
    void badConfigExits2() throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "management:\n  port: 99999\n");
        Run r = run("serve", "--config", file.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().lines()).hasSize(1);
        assertThat(r.err()).contains("management.port");
    }

    @Test
    @DisplayName("a --config file that does not exist exits 2; an unknown flag exits 2")
    void usageErrors() {
        assertThat(run("serve", "--config", dir.resolve("nope.yaml").toString()).code()).isEqualTo(2);
        Run unknown = run("serve", "--colour");
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).contains("--colour");
    }

    @Test
    @DisplayName("a port already in use: exit 1 with one line naming the port and the key that moves it")
    void portInUse() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            Path file = dir.resolve("busy.yaml");
            Files.writeString(file, String.join("\n", "http:", "  host: 127.0.0.1", "  port: " + taken.getLocalPort(),
                    "management:", "  port: 0", "database:", "  url: " + dev.roverlogout.testing.TestPostgres.newDatabase(),
                    "dataDir: " + dir.resolve("data"), "security:", "  masterKey: " + dev.roverlogout.testing.TestGateway.MASTER_KEY,
                    "dispatch:", "  enabled: false", "logging:", "  format: plain", ""));
            Run r = run("serve", "--config", file.toString());
            assertThat(r.code()).isEqualTo(Main.EXIT_RUNTIME);
            assertThat(r.err().lines()).hasSize(1);
            assertThat(r.err()).contains("port " + taken.getLocalPort() + " on 127.0.0.1 is already in use")
                    .contains("http.port (RLG_HTTP_PORT)").doesNotContain("BindException:");
        }
    }

    @Test
    @DisplayName("--help and --version exit 0 and print")
    void helpAndVersion() {
        Run help = run("--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("serve");
        Run serveHelp = run("serve", "--help");
        assertThat(serveHelp.out()).contains("--config");
        assertThat(run("--version").out()).contains("rover-logout-gateway");
    }
}
