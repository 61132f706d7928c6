package dev.roverlogout.metrics;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * Every gateway meter name and tag, in one place (contract §7). Labels never carry device or user ids.
 * Prometheus names: {@code rlg.checkins} counter → {@code rlg_checkins_total}, and so on.
 */
public final class GatewayMetrics {
    private final PrometheusMeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    /** Timers by name and tags: looking a meter up in the registry for every call cost more than recording it. */
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    /** Held while a scrape runs and while an environment's queue gauges are added or removed. */
    private final Object registration = new Object();
    /** Per-environment gauges (queue, status, diagnosis), registered under {@link #registration}. */
    private final EnvironmentGauges environments;
    private final Map<String, AtomicLong> gauges = new ConcurrentHashMap<>();
    private final Counter commits;
    private final DistributionSummary groupEvents;
    private final Counter ingestRequests;
    private final AtomicLong databaseUp = new AtomicLong(1);
    private final AtomicLong eventLoopLagNanos = new AtomicLong();
    private final AtomicLong retentionLastRun = new AtomicLong();

    public GatewayMetrics() {
        this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        this.environments = new EnvironmentGauges(registry, registration);
        // ack latency percentiles for the dashboard and SLOs: Vert.x's server timer gets histogram buckets
        registry.config().meterFilter(new io.micrometer.core.instrument.config.MeterFilter() {
            @Override
            public io.micrometer.core.instrument.distribution.DistributionStatisticConfig configure(
                    Meter.Id id, io.micrometer.core.instrument.distribution.DistributionStatisticConfig config) {
                if (id.getName().equals("vertx.http.server.response.time")) {
                    return io.micrometer.core.instrument.distribution.DistributionStatisticConfig.builder()
                            .percentilesHistogram(true).build().merge(config);
                }
                return config;
            }
        });
        // promtool's lint rejects two of Micrometer's processor meters: an abbreviated unit (process_cpu_time_ns_total;
        // process_cpu_usage stays) and a gauge ending in _count (system_cpu_count, renamed system_cpu_cores). Every
        // filter is configured before the first meter (Micrometer warns otherwise: a filter does not apply to meters
        // registered before it)
        registry.config().meterFilter(io.micrometer.core.instrument.config.MeterFilter.denyNameStartsWith("process.cpu.time"));
        registry.config().meterFilter(new io.micrometer.core.instrument.config.MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                return id.getName().equals("system.cpu.count") ? id.withName("system.cpu.cores") : id;
            }
        });
        this.ingestRequests = Counter.builder("rlg.ingest.requests")
                .description("POST /v1/checkins requests received, whatever their answer").register(registry);
        this.commits = Counter.builder("rlg.ingest.commits")
                .description("Ingest transactions committed (one per group of concurrent requests)").register(registry);
        this.groupEvents = DistributionSummary.builder("rlg.ingest.group.events")
                .description("Events written per ingest transaction").register(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        // the worst lag since the previous scrape (a stall between two scrapes must not be missed)
        Gauge.builder("rlg.event.loop.lag.seconds", eventLoopLagNanos, n -> n.getAndSet(0) / 1e9)
                .description("How late a 1 s event-loop timer fired at worst since the previous scrape (blocking or CPU starvation)")
                .register(registry);
        Gauge.builder("rlg.retention.last.run.timestamp.seconds", retentionLastRun, AtomicLong::get)
                .description("When the last retention run (of any replica) ended, in seconds since the epoch; 0 = never")
                .register(registry);
        for (String table : new String[] {"device_event", "disassociation_job", "job_attempt", "environment_status_change",
                "audit_entry"}) {
            retentionDeleted(table, 0); // every table's series exists from the start (rate() needs a first sample)
        }
        Gauge.builder("rlg.database.up", databaseUp, AtomicLong::get)
                .description("1 when the gateway's last periodic database read succeeded, 0 when it failed").register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        synchronized (registration) { // all of an environment's queue gauges, or none of them
            return registry.scrape();
        }
    }

    /** {@code rlg_checkins_total{environment,type,result}}: one per stored or duplicate event. */
    public void checkIn(String environment, String type, String result) {
        counters.computeIfAbsent("c|" + environment + "|" + type + "|" + result, k -> Counter.builder("rlg.checkins")
                .description("Check-in and check-out events received, by what they did")
                .tags("environment", environment, "type", type, "result", result)
                .register(registry)).increment();
    }

    /** {@code rlg_checkout_races_total{environment}}: a check-out arrived while its job was already being sent. */
    public void checkOutRace(String environment) {
        counters.computeIfAbsent("r|" + environment, k -> Counter.builder("rlg.checkout.races")
                .description("Check-outs that arrived while the device's Epic call was already in flight")
                .tags("environment", environment)
                .register(registry)).increment();
    }

    /** {@code rlg_disassociations_total{environment,outcome}}: a job reached an outcome (here: cancelled at ingest). */
    public void disassociation(String environment, String outcome) {
        counters.computeIfAbsent("d|" + environment + "|" + outcome, k -> Counter.builder("rlg.disassociations")
                .description("Disassociation jobs by outcome")
                .tags("environment", environment, "outcome", outcome)
                .register(registry)).increment();
    }

    /** {@code rlg_token_requests_total{environment,result}}: token requests to Epic, by result. */
    public void tokenRequest(String environment, String result) {
        counters.computeIfAbsent("t|" + environment + "|" + result, k -> Counter.builder("rlg.token.requests")
                .description("OAuth token requests to Epic, by result")
                .tags("environment", environment, "result", result)
                .register(registry)).increment();
    }

    /** {@code rlg_epic_request_duration_seconds{environment,endpoint,status}}: one call to Epic. */
    public void epicRequest(String environment, String endpoint, int status, long nanos) {
        timers.computeIfAbsent("e|" + environment + "|" + endpoint + "|" + status, k -> Timer.builder("rlg.epic.request.duration")
                .description("Calls to Epic, by endpoint (token, disassociate) and HTTP status (0 = no answer)")
                .tags("environment", environment, "endpoint", endpoint, "status", Integer.toString(status))
                .publishPercentileHistogram()
                .register(registry)).record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /** {@code rlg_lane_owned{environment}}: 1 on the replica that dispatches the environment now. */
    public void laneOwned(String environment, boolean owned) {
        environmentGauge("rlg.lane.owned", "1 on the replica that dispatches this environment", environment)
                .set(Double.doubleToLongBits(owned ? 1 : 0));
    }

    /** {@code rlg_circuit_open{environment}}: 1 open, 0.5 half-open, 0 closed. */
    public void circuit(String environment, double state) {
        environmentGauge("rlg.circuit.open", "Circuit breaker of the environment: 1 open, 0.5 half-open, 0 closed", environment)
                .set(Double.doubleToLongBits(state));
    }

    /** {@code rlg_rate_limit_per_second{environment}}: the rate in force now. */
    public void rateLimit(String environment, double perSecond) {
        environmentGauge("rlg.rate.limit.per.second", "Epic calls per second allowed now", environment)
                .set(Double.doubleToLongBits(perSecond));
    }

    /**
     * A lane stopped on this replica: its circuit and rate gauges go (another replica reports them now), so that
     * alerts on {@code max by (environment)} never see a stale open circuit.
     */
    public void laneStopped(String environment) {
        for (String name : new String[] {"rlg.circuit.open", "rlg.rate.limit.per.second"}) {
            if (gauges.remove(name + "|" + environment) != null) {
                io.micrometer.core.instrument.Meter m = registry.find(name).tag("environment", environment).meter();
                if (m != null) {
                    registry.remove(m);
                }
            }
        }
    }

    /** {@code rlg_checkin_to_disassociation_seconds{environment}}: check-in received to Epic's answer. */
    public void checkinToDisassociation(String environment, java.time.Duration d) {
        timers.computeIfAbsent("c|" + environment, k -> Timer.builder("rlg.checkin.to.disassociation")
                .description("From the check-in's arrival to Epic's answer for its device")
                .tags("environment", environment)
                .publishPercentileHistogram()
                .register(registry)).record(d);
    }

    private AtomicLong environmentGauge(String name, String description, String environment) {
        return gauges.computeIfAbsent(name + "|" + environment, k -> {
            AtomicLong bits = new AtomicLong(Double.doubleToLongBits(0));
            Gauge.builder(name, bits, b -> Double.longBitsToDouble(b.get())).description(description)
                    .tags("environment", environment).register(registry);
            return bits;
        });
    }

    /** {@code rlg_ingest_rejected_total{reason}}: requests answered with an error, by reason. */
    /** A {@code POST /v1/checkins} request arrived (counted before anything is checked; any outcome). */
    public void ingestRequest() {
        ingestRequests.increment();
    }

    public void ingestRejected(String reason) {
        counters.computeIfAbsent("x|" + reason, k -> Counter.builder("rlg.ingest.rejected")
                .description("Ingest requests refused, by reason")
                .tags("reason", reason)
                .register(registry)).increment();
    }

    /**
     * {@code rlg_ingest_commits_total} and {@code rlg_ingest_group_events}: one group commit of {@code events}
     * distinct events (the group-commit batching that SREs and benchmarks look at).
     */
    public void groupCommitted(int events) {
        commits.increment();
        groupEvents.record(events);
    }

    /** See {@link EnvironmentGauges#queue}. */
    public void queue(String environment, String tenant, String status, long depth, double oldestAgeSeconds) {
        environments.queue(environment, tenant, status, depth, oldestAgeSeconds);
    }

    /** {@code rlg_retention_deleted_total{table}}: rows the retention cleaner deleted. */
    public void retentionDeleted(String table, long rows) {
        counters.computeIfAbsent("ret|" + table, k -> Counter.builder("rlg.retention.deleted")
                .description("Rows deleted by the retention cleaner, by table")
                .tags("table", table)
                .register(registry)).increment(rows);
    }

    /** {@code rlg_retention_last_run_timestamp_seconds}: when the last retention run (of any replica) ended. */
    public void retentionLastRun(long epochSeconds) {
        retentionLastRun.set(epochSeconds);
    }

    /** {@code rlg_event_loop_lag_seconds}: records how late a 1 s event-loop timer fired (the worst is kept until scraped). */
    public void eventLoopLag(long nanos) {
        eventLoopLagNanos.accumulateAndGet(Math.max(0, nanos), Math::max);
    }

    /** {@code rlg_database_up}: 1 when the last periodic database read succeeded, 0 when it failed. */
    public void databaseUp(boolean up) {
        databaseUp.set(up ? 1 : 0);
    }

    /** See {@link EnvironmentGauges#diagnoses}. */
    public void diagnoses(String environment, Set<String> codes) {
        environments.diagnoses(environment, codes);
    }

    /** Drops the diagnosis gauges of environments that no longer exist. */
    public void retainDiagnoses(Set<String> environments) {
        this.environments.retainDiagnoses(environments);
    }

    /** Drops the per-environment queue gauges of environments that no longer exist. */
    public void retainQueues(Set<String> environments) {
        this.environments.retainQueues(environments);
    }
}
