package dev.roverlogout.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

/** The failure log's rhythm, on a clock of the test's own: a WARN, then a summary at most every 30 s, then an INFO. */
class FailureLogTest {
    private static final long S = 1_000_000_000L;
    private final Logger logger = (Logger) LoggerFactory.getLogger(Lane.class);
    private final ListAppender<ILoggingEvent> captured = new ListAppender<>();

    @BeforeEach
    void capture() {
        captured.start();
        logger.addAppender(captured);
    }

    @AfterEach
    void release() {
        logger.detachAppender(captured);
    }

    @Test
    @DisplayName("1,000 failures over 95 s make one WARN, three summaries and one more when the lane looks later; the first success one INFO")
    void rhythm() {
        FailureLog log = new FailureLog("env-x");
        for (int i = 0; i < 1000; i++) {
            log.failed("retry", "no answer from Epic: failed to resolve epic.example.org", "req-" + i, i * 95L * S / 1000);
        }
        log.summarise(200 * S); // the lane's timer: the failures since the last summary are reported
        log.succeeded();
        log.succeeded(); // nothing more to say

        List<ILoggingEvent> lines = captured.list;
        assertThat(lines).extracting(ILoggingEvent::getLevel).containsExactly(Level.WARN, Level.WARN, Level.WARN, Level.WARN,
                Level.WARN, Level.INFO);
        assertThat(lines.get(0).getFormattedMessage()).contains("env-x", "failing", "failed to resolve", "req-0");
        assertThat(lines.get(1).getFormattedMessage()).contains("more failures", "last: retry: no answer");
        assertThat(lines.get(4).getFormattedMessage()).contains("more failures", "req-999");
        long summarised = lines.subList(1, 5).stream().mapToLong(e -> Long.parseLong(e.getFormattedMessage()
                .replaceAll(".*: (\\d+) more failures.*", "$1"))).sum();
        assertThat(summarised).isEqualTo(999);
        assertThat(lines.get(5).getFormattedMessage()).contains("succeed again after 1000 failures");
        assertThat(lines.get(0).getKeyValuePairs()).anySatisfy(kv -> {
            assertThat(kv.key).isEqualTo("environment");
            assertThat(kv.value).isEqualTo("env-x");
        });
    }

    @Test
    @DisplayName("failing again after a success starts with a WARN again")
    void failingAgain() {
        FailureLog log = new FailureLog("env-y");
        log.failed("retry", "503 busy", "a", 0);
        log.succeeded();
        log.failed("failed", "403 forbidden", "b", S);
        assertThat(captured.list).extracting(ILoggingEvent::getLevel).containsExactly(Level.WARN, Level.INFO, Level.WARN);
        assertThat(captured.list.get(2).getFormattedMessage()).contains("failed: 403 forbidden", "request b");
    }
}
