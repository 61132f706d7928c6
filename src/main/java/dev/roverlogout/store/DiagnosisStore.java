package dev.roverlogout.store;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

/**
 * What the MDM diagnosis reads per environment over a recent window: how Epic's answers ended (index
 * {@code job_finished}, the newest {@link #CALLS_SAMPLE} finished jobs of each environment) and the shapes of the
 * device ids that checked in (index {@code device_event_received}, the newest {@link #CHECK_IN_SAMPLE} check-ins of
 * all environments). Both are bounded samples: reading the whole window scanned every check-in of the last 15
 * minutes (9 million rows at 10,000 check-ins/s, 1 s of database time per 460,000), on every replica, every run.
 */
public final class DiagnosisStore {
    /** A device id in the shape of a UUID ({DeviceUuId}, identifierForVendor); anything else is "another shape". */
    public static final String UUID_SHAPE = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$";

    /** The newest finished jobs read per environment: enough for the thresholds, whatever the traffic. */
    public static final int CALLS_SAMPLE = 1_000;
    /** The newest check-ins read over all environments (the shapes of their devices). */
    public static final int CHECK_IN_SAMPLE = 20_000;

    static final String CALLS = """
            SELECT e.id, c.answered, c.not_associated
              FROM environment e
              CROSS JOIN LATERAL (
                SELECT count(*) FILTER (WHERE s.state IN ('done', 'not_associated')) AS answered,
                       count(*) FILTER (WHERE s.state = 'not_associated') AS not_associated
                  FROM (SELECT j.state FROM disassociation_job j
                         WHERE j.environment_id = e.id AND j.finished_at IS NOT NULL
                           AND j.finished_at > now() - make_interval(secs => $1)
                         ORDER BY j.finished_at DESC LIMIT %d) s) c
            """.formatted(CALLS_SAMPLE);

    static final String SHAPES = """
            SELECT environment_id, count(*) FILTER (WHERE uuid), count(*) FILTER (WHERE NOT uuid)
              FROM (SELECT DISTINCT environment_id, device_id, device_id ~ '%s' AS uuid
                      FROM (SELECT environment_id, device_id FROM device_event
                             WHERE received_at > now() - make_interval(secs => $1) AND type = 'CHECK_IN'
                             ORDER BY received_at DESC LIMIT %d) newest) d
             GROUP BY environment_id
            """.formatted(UUID_SHAPE, CHECK_IN_SAMPLE);

    /**
     * One environment's recent window.
     *
     * @param answered      jobs Epic gave its verdict on ({@code done}, {@code not_associated}); dead letters and
     *                      expired jobs say nothing about the device id
     * @param notAssociated of those, the ones Epic answered "not associated"
     * @param uuidDevices   distinct devices with a UUID-shaped id that checked in (check-outs not counted)
     * @param otherDevices  distinct devices with an id of another shape (serial numbers, IMEIs, names)
     */
    public record Window(long answered, long notAssociated, long uuidDevices, long otherDevices) {
    }

    private final Pool pool;

    public DiagnosisStore(Pool pool) {
        this.pool = pool;
    }

    /** Every environment's window of the last {@code window}. */
    public Future<Map<String, Window>> read(Duration window) {
        Tuple seconds = Tuple.of((double) window.toSeconds());
        return pool.preparedQuery(CALLS).execute(seconds).compose(calls -> pool.preparedQuery(SHAPES).execute(seconds)
                .map(shapes -> {
                    Map<String, long[]> shapeCounts = new HashMap<>();
                    for (Row r : shapes) {
                        shapeCounts.put(r.getString(0), new long[] {r.getLong(1), r.getLong(2)});
                    }
                    Map<String, Window> windows = new HashMap<>();
                    for (Row r : calls) {
                        long[] s = shapeCounts.getOrDefault(r.getString(0), new long[2]);
                        windows.put(r.getString(0), new Window(r.getLong(1), r.getLong(2), s[0], s[1]));
                    }
                    return windows;
                }));
    }
}
