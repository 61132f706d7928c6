package dev.roverlogout.store;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;

/**
 * How {@link EventStore} applies one group of events: split into rounds that hold at most one event per
 * (environment, device), in arrival order (usually one round); each round's parameters as arrays for the set-based
 * statements; and the rows of {@link EventStore#APPLY_JOBS} matched back to the round's events by position (an
 * eventId may not survive the round trip unchanged) and jobs by environment and device.
 */
final class EventRounds {
    private EventRounds() {
    }

    /** Matches the rows of {@link #APPLY_JOBS} to the round's events (one event per device in a round). */
    static void outcomes(List<CheckInEvent> round, RowSet<Row> rows, Set<String> queueing,
                                 List<CheckInEvent> fresh, List<EventStore.Stored> outcomes) {
        boolean[] isFresh = new boolean[round.size()];
        Map<String, Row> jobs = new HashMap<>();
        Map<Integer, Long> cancelled = new HashMap<>();
        Map<Integer, Long> racing = new HashMap<>();
        for (Row row : rows) {
            switch (row.getString(0)) {
                case "fresh" -> isFresh[row.getLong(1).intValue() - 1] = true;
                case "job" -> jobs.put(EventStore.key(row.getString(2), row.getString(3)), row);
                default -> ("cancelled".equals(row.getString(5)) ? cancelled : racing)
                        .putIfAbsent(row.getLong(1).intValue() - 1, row.getLong(4));
            }
        }
        for (int i = 0; i < round.size(); i++) {
            if (!isFresh[i]) {
                continue; // a duplicate
            }
            CheckInEvent e = round.get(i);
            EventStore.Stored s;
            if (e.type() == CheckInEvent.Type.CHECK_IN) {
                Row job = jobs.get(EventStore.key(e.environmentId(), e.deviceId()));
                s = !queueing.contains(e.environmentId()) ? new EventStore.Stored("skipped", null)
                        : job == null ? new EventStore.Stored("superseded", null)
                        : new EventStore.Stored(job.getString(5), job.getLong(4));
            } else {
                s = cancelled.containsKey(i) ? new EventStore.Stored("cancelled_job", cancelled.get(i), racing.containsKey(i))
                        : racing.containsKey(i) ? new EventStore.Stored("cancel_race", racing.get(i), true)
                        : new EventStore.Stored("recorded", null);
            }
            fresh.add(e);
            outcomes.add(s);
        }
    }

    /** Splits events into rounds with at most one event per (environment, device), keeping arrival order. */
    static List<List<CheckInEvent>> rounds(List<CheckInEvent> events) {
        List<List<CheckInEvent>> rounds = new ArrayList<>();
        Map<String, Integer> lastRoundOfDevice = new HashMap<>();
        for (CheckInEvent e : events) {
            String device = EventStore.key(e.environmentId(), e.deviceId());
            int round = lastRoundOfDevice.getOrDefault(device, -1) + 1;
            if (round == rounds.size()) {
                rounds.add(new ArrayList<>());
            }
            rounds.get(round).add(e);
            lastRoundOfDevice.put(device, round);
        }
        return rounds;
    }

    static Tuple devices(List<CheckInEvent> events) {
        return Tuple.tuple().addArrayOfString(strings(events, CheckInEvent::environmentId))
                .addArrayOfString(strings(events, CheckInEvent::deviceId));
    }

    static Tuple jobParams(List<CheckInEvent> events, String[] queueing) {
        return Tuple.tuple().addArrayOfString(strings(events, CheckInEvent::environmentId))
                .addArrayOfString(strings(events, CheckInEvent::eventId))
                .addArrayOfString(strings(events, e -> e.type().name()))
                .addArrayOfString(strings(events, CheckInEvent::deviceId))
                .addArrayOfOffsetDateTime(events.stream().map(CheckInEvent::occurredAt).toArray(OffsetDateTime[]::new))
                .addArrayOfString(strings(events, CheckInEvent::requestId))
                .addArrayOfString(queueing);
    }

    static Tuple eventParams(List<CheckInEvent> events, List<EventStore.Stored> outcomes) {
        return Tuple.tuple().addArrayOfString(strings(events, CheckInEvent::environmentId))
                .addArrayOfString(strings(events, CheckInEvent::eventId))
                .addArrayOfString(strings(events, e -> e.type().name()))
                .addArrayOfString(strings(events, CheckInEvent::deviceId))
                .addArrayOfOffsetDateTime(events.stream().map(CheckInEvent::occurredAt).toArray(OffsetDateTime[]::new))
                .addArrayOfString(strings(events, CheckInEvent::userId))
                .addArrayOfString(strings(events, CheckInEvent::lockerId))
                .addArrayOfString(strings(events, CheckInEvent::requestId))
                .addArrayOfString(outcomes.stream().map(EventStore.Stored::outcome).toArray(String[]::new))
                .addArrayOfLong(outcomes.stream().map(EventStore.Stored::jobId).toArray(Long[]::new));
    }

    private static String[] strings(List<CheckInEvent> events, java.util.function.Function<CheckInEvent, String> field) {
        String[] values = new String[events.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = field.apply(events.get(i));
        }
        return values;
    }
}
