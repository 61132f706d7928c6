package dev.roverlogout.metrics;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The gauges each environment has, registered when it first shows up and removed when it is gone: queue depth,
 * oldest queued age, status (with the tenant) and the MDM diagnosis. Registration and removal take the scrape's
 * lock ({@code registration}), so a scrape sees all of an environment's gauges or none. Called from any thread.
 */
final class EnvironmentGauges {
    private final MeterRegistry registry;
    private final Object registration;
    private final Map<String, QueueGauges> queues = new ConcurrentHashMap<>();
    private final Map<String, DiagnosisGauges> diagnoses = new ConcurrentHashMap<>();

    EnvironmentGauges(MeterRegistry registry, Object registration) {
        this.registry = registry;
        this.registration = registration;
    }

    /**
     * Sets {@code rlg_queue_depth}, {@code rlg_queue_oldest_age_seconds} and {@code rlg_environment_status} (1 for
     * the environment's status, 0 for the others; for alerts such as "stuck in PENDING" or "READY without a lane
     * owner") for one environment. The status gauges also carry the environment's {@code tenant} (environments never
     * move tenant), which the dashboard's tenant variable reads; the contract's metrics keep their labels.
     */
    void queue(String environment, String tenant, String status, long depth, double oldestAgeSeconds) {
        QueueGauges g = queues.get(environment);
        if (g == null) {
            // a new environment's gauges are registered one by one: under the scrape's lock, so that a scrape never
            // shows some of them (a depth without its oldest age confused alerts and tests); a wait of one scrape at
            // most, once per environment
            synchronized (registration) {
                g = queues.computeIfAbsent(environment, e -> registerQueueGauges(e, tenant));
            }
        }
        g.depth.set(depth);
        g.oldestAgeMillis.set(Math.round(oldestAgeSeconds * 1000));
        g.status.set(status);
    }

    /**
     * Sets {@code rlg_environment_diagnosis{environment,code}}: 1 for each of {@code codes} (Diagnoses), 0 for the
     * other known codes, so that every environment has a series for each code.
     */
    void diagnoses(String environment, Set<String> codes) {
        synchronized (registration) {
            diagnoses.computeIfAbsent(environment, e -> {
                java.util.concurrent.atomic.AtomicReference<Set<String>> active =
                        new java.util.concurrent.atomic.AtomicReference<>(Set.of());
                List<Meter> gauges = new java.util.ArrayList<>();
                for (String code : DIAGNOSIS_CODES) {
                    gauges.add(Gauge.builder("rlg.environment.diagnosis", active, a -> a.get().contains(code) ? 1 : 0)
                            .description("1 while the environment shows this MDM set-up problem (mdm_mismatch, "
                                    + "device_id_shapes; see its diagnosis in /admin/queue)")
                            .tags("environment", environment, "code", code).register(registry));
                }
                return new DiagnosisGauges(active, gauges);
            }).active().set(Set.copyOf(codes));
        }
    }

    /** Drops the diagnosis gauges of environments that no longer exist. */
    void retainDiagnoses(Set<String> environments) {
        synchronized (registration) {
            diagnoses.keySet().stream().filter(e -> !environments.contains(e)).toList()
                    .forEach(e -> diagnoses.remove(e).gauges().forEach(registry::remove));
        }
    }

    private static final List<String> DIAGNOSIS_CODES = List.of("mdm_mismatch", "device_id_shapes");

    private record DiagnosisGauges(java.util.concurrent.atomic.AtomicReference<Set<String>> active, List<Meter> gauges) {
    }

    /** Drops the per-environment queue gauges of environments that no longer exist. */
    void retainQueues(Set<String> environments) {
        synchronized (registration) {
            queues.keySet().stream().filter(e -> !environments.contains(e)).toList().forEach(e -> {
                QueueGauges g = queues.remove(e);
                registry.remove(g.depthGauge);
                registry.remove(g.ageGauge);
                g.statusGauges.forEach(registry::remove);
            });
        }
    }

    private QueueGauges registerQueueGauges(String environment, String tenant) {
        AtomicLong depth = new AtomicLong();
        AtomicLong age = new AtomicLong();
        Meter depthGauge = Gauge.builder("rlg.queue.depth", depth, AtomicLong::get)
                .description("Disassociation jobs queued (not yet sent)")
                .tags("environment", environment).register(registry);
        Meter ageGauge = Gauge.builder("rlg.queue.oldest.age.seconds", age, a -> a.get() / 1000.0)
                .description("Age of the oldest queued disassociation job")
                .tags("environment", environment).register(registry);
        java.util.concurrent.atomic.AtomicReference<String> status = new java.util.concurrent.atomic.AtomicReference<>("");
        List<Meter> statusGauges = new java.util.ArrayList<>();
        for (String s : new String[] {"PENDING", "READY", "PAUSED", "DISABLED"}) {
            statusGauges.add(Gauge.builder("rlg.environment.status", status, r -> s.equals(r.get()) ? 1 : 0)
                    .description("1 for the environment's status (PENDING, READY, PAUSED, DISABLED), 0 for the others")
                    .tags("environment", environment, "status", s, "tenant", tenant).register(registry));
        }
        return new QueueGauges(depth, age, status, depthGauge, ageGauge, statusGauges);
    }

    private record QueueGauges(AtomicLong depth, AtomicLong oldestAgeMillis,
                               java.util.concurrent.atomic.AtomicReference<String> status, Meter depthGauge,
                               Meter ageGauge, List<Meter> statusGauges) {
    }
}
