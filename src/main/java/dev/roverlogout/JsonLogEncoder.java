package dev.roverlogout;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import io.vertx.core.json.JsonObject;

/**
 * One JSON object per log line with flat, stable field names: {@code timestamp}, {@code level}, {@code logger},
 * {@code thread}, {@code message} (arguments in place), the event's key-values as fields of their own
 * ({@code environment}, {@code requestId}, ...), MDC entries, and {@code error} with the stack trace.
 */
public final class JsonLogEncoder extends EncoderBase<ILoggingEvent> {
    private static final byte[] NONE = new byte[0];

    @Override
    public byte[] headerBytes() {
        return NONE;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        JsonObject o = new JsonObject()
                .put("timestamp", Instant.ofEpochMilli(event.getTimeStamp()).toString())
                .put("level", event.getLevel().toString())
                .put("logger", event.getLoggerName())
                .put("thread", event.getThreadName())
                .put("message", event.getFormattedMessage());
        if (event.getKeyValuePairs() != null) {
            event.getKeyValuePairs().forEach(kv -> o.put(kv.key, kv.value == null ? null : String.valueOf(kv.value)));
        }
        event.getMDCPropertyMap().forEach(o::put);
        IThrowableProxy error = event.getThrowableProxy();
        if (error != null) {
            o.put("error", ThrowableProxyUtil.asString(error));
        }
        return (o.encode() + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] footerBytes() {
        return NONE;
    }
}
