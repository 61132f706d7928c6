package dev.roverlogout.maintenance;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.lifecycle.PeriodicService;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.DiagnosisStore;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * Says when an environment's MDM set-up is wrong, from what its recent calls and check-ins show (README, "When Epic
 * says not associated"). Every replica reads the last {@link #WINDOW} from the database every {@code interval} and
 * keeps the result for the admin API ({@code diagnosis} on {@code /admin/queue} and the environment) and
 * {@code rlg_environment_diagnosis{environment,code}}.
 *
 * <ul>
 * <li>{@code mdm_mismatch}: Epic gave its verdict ({@code done} or {@code not_associated}) on at least
 *     {@link #MIN_CALLS} calls in the window and at least {@link #RATIO} of them were "not associated". Epic knows the device under another id than the Locker sends: Rover's AppConfig
 *     {@code EpicMobileDeviceID} and the Locker's {@code epicRoverEpicMobileDeviceID} differ.</li>
 * <li>{@code device_id_shapes}: devices with UUID-shaped ids and devices with ids of another shape both checked in
 *     (each shape at least {@link #MIN_MINORITY} devices and {@link #MINORITY_SHARE} of them): two MDM profiles fill
 *     the two keys from different variables.</li>
 * </ul>
 */
public final class Diagnoses extends PeriodicService {
    public static final Duration WINDOW = Duration.ofMinutes(15);
    public static final int MIN_CALLS = 50;
    public static final double RATIO = 0.8;
    public static final int MIN_MINORITY = 3;
    public static final double MINORITY_SHARE = 0.05;
    public static final String MDM_MISMATCH = "mdm_mismatch";
    public static final String DEVICE_ID_SHAPES = "device_id_shapes";
    private static final Logger log = LoggerFactory.getLogger(Diagnoses.class);

    private final DiagnosisStore store;
    private final GatewayMetrics metrics;
    private final Duration interval;
    private final Map<String, JsonObject> current = new ConcurrentHashMap<>();

    public Diagnoses(Vertx vertx, Context context, DiagnosisStore store, GatewayMetrics metrics, Duration interval) {
        super(vertx, context, true);
        this.store = store;
        this.metrics = metrics;
        this.interval = interval;
    }

    @Override
    public String name() {
        return "MDM diagnosis";
    }

    @Override
    protected Duration delay() {
        return interval;
    }

    @Override
    protected Future<Void> runOnce() {
        return store.read(WINDOW).map(windows -> {
            windows.forEach((environment, w) -> {
                Optional<JsonObject> d = diagnose(w);
                Set<String> codes = new LinkedHashSet<>();
                d.ifPresent(found -> found.getJsonArray("codes").forEach(c -> codes.add((String) c)));
                metrics.diagnoses(environment, codes);
                if (d.isPresent()) {
                    JsonObject before = current.put(environment, d.get());
                    if (before == null || !before.getJsonArray("codes").equals(d.get().getJsonArray("codes"))) {
                        log.atWarn().addKeyValue("environment", environment).addKeyValue("diagnosis", codes)
                                .log("Environment {}: {}", environment, d.get().getString("message"));
                    }
                } else {
                    current.remove(environment);
                }
            });
            current.keySet().retainAll(windows.keySet());
            metrics.retainDiagnoses(windows.keySet());
            return (Void) null;
        }).recover(e -> {
            log.debug("MDM diagnosis unavailable: {}", e.toString());
            return Future.succeededFuture();
        });
    }

    /** The environment's diagnosis as the last read found it, for the admin API; empty when all looks right. */
    public Optional<JsonObject> of(String environmentId) {
        return Optional.ofNullable(current.get(environmentId)).map(JsonObject::copy);
    }

    /**
     * The diagnosis of one window: {@code code} and {@code message} of the most telling finding, {@code codes} of all,
     * and the counts they rest on. Empty when nothing is wrong.
     */
    static Optional<JsonObject> diagnose(DiagnosisStore.Window w) {
        Set<String> codes = new LinkedHashSet<>();
        StringBuilder message = new StringBuilder();
        if (w.answered() >= MIN_CALLS && w.notAssociated() >= RATIO * w.answered()) {
            codes.add(MDM_MISMATCH);
            message.append("Epic answered \"not associated\" for ").append(w.notAssociated()).append(" of the ")
                    .append(w.answered()).append(" calls of the last ").append(WINDOW.toMinutes())
                    .append(" minutes: Epic knows these devices under another id than the one the Locker sends. "
                            + "In your MDM, compare Rover's AppConfig key EpicMobileDeviceID with the Locker's "
                            + "epicRoverEpicMobileDeviceID: both must be set to the same variable, e.g. {DeviceUuId}, "
                            + "on every device.");
        }
        long all = w.uuidDevices() + w.otherDevices();
        long minority = Math.min(w.uuidDevices(), w.otherDevices());
        if (minority >= MIN_MINORITY && minority >= MINORITY_SHARE * all) {
            codes.add(DEVICE_ID_SHAPES);
            message.append(message.isEmpty() ? "" : " ").append("Device ids of two shapes checked in during the last ")
                    .append(WINDOW.toMinutes()).append(" minutes (").append(w.uuidDevices()).append(" devices with "
                            + "UUIDs, ").append(w.otherDevices()).append(" with ids of another shape, such as serial "
                            + "numbers): two MDM profiles seem to fill EpicMobileDeviceID (Rover) and "
                            + "epicRoverEpicMobileDeviceID (Locker) from different variables. Use the same one in every "
                            + "profile.");
        }
        if (codes.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new JsonObject().put("code", codes.iterator().next()).put("message", message.toString())
                .put("codes", new io.vertx.core.json.JsonArray(java.util.List.copyOf(codes)))
                .put("windowMinutes", WINDOW.toMinutes()).put("calls", w.answered())
                .put("notAssociated", w.notAssociated()).put("uuidDevices", w.uuidDevices())
                .put("otherShapeDevices", w.otherDevices()));
    }
}
