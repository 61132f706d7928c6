package dev.roverlogout;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import io.vertx.core.json.JsonObject;

class LoggingTest {
    @Test
    @DisplayName("logging.format json: one JSON object per line with level, logger, message and the environment key-value")
    void jsonLines() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        Appender<ILoggingEvent> plain = root.getAppender("STDOUT");
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            Logging.apply("json");
            LoggerFactory.getLogger("dev.roverlogout.dispatch.Lane").atWarn().addKeyValue("environment", "ex-prd")
                    .log("Circuit of environment {} opened", "ex-prd");
        } finally {
            System.setOut(original);
            Appender<ILoggingEvent> json = root.getAppender("JSON");
            root.detachAppender(json);
            json.stop();
            root.addAppender(plain);
        }
        String[] lines = captured.toString(StandardCharsets.UTF_8).trim().split("\n");
        assertThat(lines).hasSize(1);
        JsonObject line = new JsonObject(lines[0]);
        assertThat(line.getString("level")).isEqualTo("WARN");
        assertThat(line.getString("logger")).isEqualTo("dev.roverlogout.dispatch.Lane");
        assertThat(line.getString("message")).isEqualTo("Circuit of environment ex-prd opened");
        assertThat(line.getString("environment")).isEqualTo("ex-prd");
        assertThat(line.getString("timestamp")).isNotBlank();
    }
}
