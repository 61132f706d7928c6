package dev.roverlogout.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import io.vertx.core.json.JsonObject;

class ScheduleTest {
    private static Scenario scenario(JsonObject o) {
        return Scenario.parse(o, "t");
    }

    @Test
    @DisplayName("every shipped scenario parses; an unknown field is refused with its name")
    void scenarios() throws Exception {
        try (Stream<Path> files = Files.list(Path.of("loadtest", "scenarios"))) {
            files.forEach(f -> {
                try {
                    assertThat(Scenario.load(f).name()).isEqualTo(f.getFileName().toString().replace(".yaml", ""));
                } catch (Exception e) {
                    throw new AssertionError(f + ": " + e.getMessage(), e);
                }
            });
        }
        assertThatThrownBy(() -> scenario(new JsonObject().put("pass", new JsonObject().put("lsot", 0))))
                .hasMessageContaining("pass.lsot");
        assertThatThrownBy(() -> scenario(new JsonObject().put("devices", 0))).hasMessageContaining("devices");
        assertThatThrownBy(() -> scenario(new JsonObject().put("profile", new JsonObject().put("type", "burst"))))
                .hasMessageContaining("profile.type");
    }

    @Test
    @DisplayName("constant spreads arrivals evenly; shift-change puts most of them around the peak")
    void profiles() {
        Schedule constant = Schedule.of(scenario(new JsonObject().put("devices", 1000).put("seconds", 100)), "x");
        assertThat(constant.devices.get(0).checkInAtMillis()).isBetween(0L, 100L);
        assertThat(constant.devices.get(499).checkInAtMillis()).isBetween(49_800L, 50_000L);
        assertThat(constant.requests).hasSize(1000);

        Schedule peak = Schedule.of(scenario(new JsonObject().put("devices", 10_000).put("seconds", 100)
                .put("profile", new JsonObject().put("type", "shift-change").put("peakAtShare", 0.3)
                        .put("peakWidthShare", 0.05).put("peakShare", 0.8))), "x");
        long nearPeak = peak.devices.stream().filter(d -> Math.abs(d.checkInAtMillis() - 30_000) < 5_000).count();
        long lastTenth = peak.devices.stream().filter(d -> d.checkInAtMillis() >= 90_000).count();
        assertThat(nearPeak).isGreaterThan(5_000); // ±1 σ holds 68 % of the 80 % in the peak
        assertThat(lastTenth).isLessThan(400);
        for (int i = 1; i < peak.devices.size(); i++) {
            assertThat(peak.devices.get(i).checkInAtMillis()).isGreaterThanOrEqualTo(peak.devices.get(i - 1).checkInAtMillis());
        }
    }

    @Test
    @DisplayName("zipf skew gives the first environment its share; the same seed gives the same schedule; batches and extras")
    void skewSeedAndExtras() {
        JsonObject o = new JsonObject().put("devices", 20_000).put("seconds", 10).put("batchSize", 10)
                .put("environments", new JsonObject().put("count", 10).put("skew", 1.0))
                .put("checkOutShare", 0.1).put("duplicateShare", 0.05).put("invalidShare", 0.02);
        Schedule a = Schedule.of(scenario(o), "x");
        Schedule b = Schedule.of(scenario(o), "x");
        double first = a.devices.stream().filter(d -> d.environment() == 0).count() / 20_000.0;
        assertThat(first).isBetween(a.environmentWeights[0] - 0.02, a.environmentWeights[0] + 0.02);
        assertThat(a.environmentWeights[0]).isBetween(0.33, 0.35); // 1 / H(10)
        assertThat(a.requests).isEqualTo(b.requests);
        long checkOuts = a.requests.stream().filter(r -> r.kind() == Schedule.Kind.CHECK_OUT).count();
        long invalid = a.requests.stream().filter(r -> r.kind() == Schedule.Kind.INVALID).count();
        long checkIns = a.requests.stream().filter(r -> r.kind() == Schedule.Kind.CHECK_IN).count();
        assertThat(checkIns).isEqualTo(2_000);
        assertThat(checkOuts).isBetween(1_800L, 2_200L);
        assertThat(invalid).isEqualTo(40);
        a.devices.stream().filter(d -> d.checkOutAtMillis() >= 0)
                .forEach(d -> assertThat(d.checkOutAtMillis()).isGreaterThan(d.checkInAtMillis()));
    }
}
