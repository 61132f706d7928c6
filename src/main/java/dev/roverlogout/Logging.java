package dev.roverlogout;

import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;

/**
 * {@code logging.format}: logback.xml starts every process with plain text; {@code json} switches the root logger to
 * one JSON object per line ({@link JsonLogEncoder}), which log pipelines parse without patterns.
 */
final class Logging {
    private Logging() {
    }

    static void apply(String format) {
        if (!"json".equals(format) || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        JsonLogEncoder encoder = new JsonLogEncoder();
        encoder.setContext(context);
        encoder.start();
        ConsoleAppender<ILoggingEvent> json = new ConsoleAppender<>();
        json.setName("JSON");
        json.setContext(context);
        json.setEncoder(encoder);
        json.start();
        root.addAppender(json);
        root.detachAppender("STDOUT");
    }
}
