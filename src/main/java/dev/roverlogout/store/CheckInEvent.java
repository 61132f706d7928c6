package dev.roverlogout.store;

import java.time.OffsetDateTime;

/** One validated locker event. {@code userId}, {@code lockerId} and {@code requestId} may be null. */
public record CheckInEvent(
        String eventId,
        Type type,
        String environmentId,
        String deviceId,
        OffsetDateTime occurredAt,
        String userId,
        String lockerId,
        String requestId) {

    public enum Type { CHECK_IN, CHECK_OUT }
}
