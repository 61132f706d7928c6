package dev.roverlogout.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import io.vertx.core.json.JsonObject;

/** The pass criteria can fail: a run that called too fast, lost or doubled a call is judged FAILED. */
class ReportTest {
    private static JsonObject run(long lost, long duplicates, long overLimit, long rateLimited) {
        return new JsonObject()
                .put("epic", new JsonObject().put("lost", lost).put("duplicates", duplicates).put("callsAfterCheckOut", 0L)
                        .put("overLimitWindows", overLimit).put("rateLimited429", rateLimited).put("worstDrainRatio", 1.0)
                        .put("e2eMillis", new JsonObject()))
                .put("ingest", new JsonObject().put("droppedArrivals", 0L).put("errors", 0L).put("unexpectedAnswers", 0L)
                        .put("ackMillis", new JsonObject().put("p99", 5.0)));
    }

    @Test
    @DisplayName("a run with no trouble passes; one over the limit (sliding second or 429s), one lost or one doubled fails")
    void criteriaCanFail() {
        Scenario.Pass pass = Scenario.parse(new JsonObject(), "t").pass();
        assertThat(Report.judge(pass, run(0, 0, 0, 0)).getBoolean("passed")).isTrue();
        for (JsonObject bad : new JsonObject[] {run(1, 0, 0, 0), run(0, 1, 0, 0), run(0, 0, 1, 0), run(0, 0, 0, 3)}) {
            JsonObject verdict = Report.judge(pass, bad);
            assertThat(verdict.getBoolean("passed")).as(bad.encode()).isFalse();
        }
        // a scenario that sets its own, lower Epic limit expects 429s and does not judge them
        Scenario.Pass storm = Scenario.parse(new JsonObject().put("epic", new JsonObject().put("rateLimitPerSecond", 30)), "t").pass();
        assertThat(Report.judge(storm, run(0, 0, 0, 3)).getBoolean("passed")).isTrue();
    }
}
