package dev.roverlogout.store;

import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import io.vertx.sqlclient.Tuple;

/**
 * The arguments of {@code rlg_write_events} for one group: one array per event field, in arrival order, and each
 * event's round. A round holds at most one event per (environment, device), so that the events of one device are
 * applied in arrival order (a device's second event of the group goes to round 2, and so on); usually there is one
 * round.
 */
final class EventRounds {
    private EventRounds() {
    }

    /** The 1-based round of each event: one more than the round of the same device's previous event. */
    static Integer[] rounds(List<CheckInEvent> events) {
        Integer[] rounds = new Integer[events.size()];
        Map<String, Integer> lastRoundOfDevice = new HashMap<>();
        for (int i = 0; i < rounds.length; i++) {
            CheckInEvent e = events.get(i);
            rounds[i] = lastRoundOfDevice.merge(EventStore.key(e.environmentId(), e.deviceId()), 1, Integer::sum);
        }
        return rounds;
    }

    static Tuple params(List<CheckInEvent> events) {
        return Tuple.tuple().addArrayOfString(strings(events, CheckInEvent::environmentId))
                .addArrayOfString(strings(events, CheckInEvent::eventId))
                .addArrayOfString(strings(events, e -> e.type().name()))
                .addArrayOfString(strings(events, CheckInEvent::deviceId))
                .addArrayOfOffsetDateTime(events.stream().map(CheckInEvent::occurredAt).toArray(OffsetDateTime[]::new))
                .addArrayOfString(strings(events, CheckInEvent::userId))
                .addArrayOfString(strings(events, CheckInEvent::lockerId))
                .addArrayOfString(strings(events, CheckInEvent::requestId))
                .addArrayOfInteger(rounds(events));
    }

    private static String[] strings(List<CheckInEvent> events, Function<CheckInEvent, String> field) {
        String[] values = new String[events.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = field.apply(events.get(i));
        }
        return values;
    }
}
