package dev.roverlogout.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    private Path yaml(String text) throws IOException {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, text);
        return file;
    }

    @Test
    @DisplayName("the shipped conf/gateway.yaml is valid and equals the built-in defaults")
    void shippedFileIsTheDefaults() throws IOException {
        GatewayConfig shipped = ConfigLoader.load(Optional.of(Path.of("conf", "gateway.yaml")), Map.of());
        GatewayConfig builtIn = ConfigLoader.load(Optional.of(yaml("# nothing set\n")), Map.of("X", "y"));
        assertThat(shipped).isEqualTo(builtIn);
        assertThat(shipped.http().port()).isEqualTo(8080);
        assertThat(shipped.management()).isEqualTo(new GatewayConfig.Endpoint("127.0.0.1", 8081));
        assertThat(shipped.database().embedded()).isTrue();
    }

    @Test
    @DisplayName("every key in conf/gateway.yaml is a known key, and every known key is documented there")
    void shippedFileDocumentsEveryKey() throws IOException {
        String text = Files.readString(Path.of("conf", "gateway.yaml"));
        for (String key : GatewayConfig.DEFAULTS.keySet()) {
            String last = key.substring(key.lastIndexOf('.') + 1);
            assertThat(text).as("conf/gateway.yaml documents " + key).containsPattern("(?m)^\\s*" + last + ":.*#");
        }
    }

    @Test
    @DisplayName("RLG_* variables override file values, dots becoming underscores")
    void environmentOverrides() throws IOException {
        Path file = yaml("http:\n  port: 9000\ningest:\n  groupCommit:\n    window: 2ms\n");
        GatewayConfig c = ConfigLoader.load(Optional.of(file), Map.of("RLG_HTTP_PORT", "9100",
                "RLG_DATABASE_URL", "postgresql://u:p@db.example.org:5432/rlg", "RLG_INGEST_GROUPCOMMIT_MAXEVENTS", "77",
                "PATH", "/usr/bin"));
        assertThat(c.http().port()).isEqualTo(9100);
        assertThat(c.ingest().groupWindow()).isEqualTo(Duration.ofMillis(2));
        assertThat(c.ingest().groupMaxEvents()).isEqualTo(77);
        assertThat(c.database().url()).contains("postgresql://u:p@db.example.org:5432/rlg");
        assertThat(ConfigLoader.envName("database.embeddedDir")).isEqualTo("RLG_DATABASE_EMBEDDEDDIR");
    }

    @Test
    @DisplayName("an unknown key, a bad value or an unknown RLG_ variable is refused naming the key")
    void refusals() throws IOException {
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(yaml("http:\n  prot: 1\n")), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("http.prot: unknown key");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(yaml("http:\n  port: eighty\n")), Map.of()))
                .hasMessageStartingWith("http.port:");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(yaml("ingest:\n  retryAfter: 5 seconds\n")), Map.of()))
                .hasMessageStartingWith("ingest.retryAfter:");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(yaml("{}\n")), Map.of("RLG_HTTP_PROT", "1")))
                .hasMessageStartingWith("RLG_HTTP_PROT:");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(yaml("{}\n")), Map.of("RLG_SECURITY_MASTERKEY", "c2hvcnQ=")))
                .hasMessageStartingWith("security.masterKey:").hasMessageNotContaining("c2hvcnQ");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(yaml("{}\n")), Map.of("RLG_AUTH_ADMINTOKEN", "sha256:xyz")))
                .hasMessageStartingWith("auth.adminToken:").hasMessageNotContaining("xyz");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(yaml("{}\n")), Map.of("RLG_DATABASE_URL", "mysql://x")))
                .hasMessageStartingWith("database.url:");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(dir.resolve("missing.yaml")), Map.of()))
                .hasMessageStartingWith("--config:");
    }

    @Test
    @DisplayName("OIDC: an issuer needs an audience and https (http only on localhost); the admin token can be disabled "
            + "only when people can sign in")
    void oidc() throws IOException {
        Path empty = yaml("{}\n");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(empty), Map.of("RLG_AUTH_ADMINTOKEN", "disabled")))
                .hasMessageStartingWith("auth.adminToken: is disabled and auth.oidc.issuer is not set");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(empty), Map.of("RLG_AUTH_OIDC_ISSUER", "https://idp.example.org")))
                .hasMessageStartingWith("auth.oidc.audience:");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(empty), Map.of("RLG_AUTH_OIDC_ISSUER", "http://idp.example.org",
                "RLG_AUTH_OIDC_AUDIENCE", "rlg"))).hasMessageStartingWith("auth.oidc.issuer: must be an https URL");
        assertThatThrownBy(() -> ConfigLoader.load(Optional.of(empty), Map.of("RLG_AUTH_OIDC_ISSUER", "https://idp.example.org",
                "RLG_AUTH_OIDC_AUDIENCE", "console", "RLG_AUTH_OIDC_CONSOLECLIENTID", "console")))
                .hasMessageStartingWith("auth.oidc.audience: must not be the console's client id");
        GatewayConfig c = ConfigLoader.load(Optional.of(empty), Map.of("RLG_AUTH_OIDC_ISSUER", "https://idp.example.org/realms/h",
                "RLG_AUTH_OIDC_AUDIENCE", "rlg", "RLG_AUTH_ADMINTOKEN", "disabled", "RLG_AUTH_OIDC_ROLESCLAIM", "realm_access.roles"));
        assertThat(c.auth().adminTokenDisabled()).isTrue();
        assertThat(c.auth().adminToken()).isEmpty();
        assertThat(c.auth().oidc().orElseThrow().rolesClaim()).isEqualTo("realm_access.roles");
        assertThat(c.auth().oidc().orElseThrow().tenantsClaim()).isEqualTo("tenants");
        assertThat(ConfigLoader.load(Optional.of(empty), Map.of()).auth().oidc()).isEmpty();
    }
}
