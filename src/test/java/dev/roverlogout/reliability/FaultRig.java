package dev.roverlogout.reliability;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

import dev.roverlogout.sim.EpicSimulator;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/**
 * What every fault scenario shares: the project's Epic simulator on its own Vert.x, a locker-like sender that
 * keeps re-sending a batch until it is acknowledged (as lockers do; the event ids make re-sends idempotent), and the
 * count afterwards, made from the simulator's side.
 */
final class FaultRig implements AutoCloseable {
    final Http http = new Http();
    private final Vertx vertx = Vertx.vertx();
    private final List<Burst> bursts = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final EpicSimulator sim;

    /** {@code instances}: simulator instances (name, clientId, jwksUrl, ...). */
    FaultRig(JsonArray instances) {
        sim = new EpicSimulator("127.0.0.1", 0, instances);
        TestGateway.join(vertx.deployVerticle(sim));
    }

    static JsonObject instance(String name, int gatewayPublicPort, String environmentId) {
        return new JsonObject().put("name", name).put("clientId", "client-" + environmentId)
                .put("jwksUrl", "http://127.0.0.1:" + gatewayPublicPort + "/jwks/" + environmentId + ".json");
    }

    String simUrl() {
        return "http://127.0.0.1:" + sim.actualPort();
    }

    /** Creates a READY environment for simulator instance {@code instance} with this rate, burst and concurrency. */
    void readyEnvironment(int managementPort, String id, String instance, int rate, int burst, int maxConcurrency) {
        HttpResponse<Buffer> r = http.post(managementPort, "/admin/environments", TestGateway.ADMIN, Fixtures.environment(id)
                .put("interconnectUrl", simUrl()).put("instance", instance).put("allowInsecure", true)
                .put("clientId", "client-" + id).put("rateLimitPerSecond", rate).put("burst", burst)
                .put("maxConcurrency", maxConcurrency));
        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(201);
        assertThat(http.post(managementPort, "/admin/environments/" + id + "/activate", TestGateway.ADMIN, null)
                .statusCode()).isEqualTo(200);
    }

    void configure(String instance, JsonObject settings) {
        http.send(io.vertx.core.http.HttpMethod.PATCH, sim.actualPort(), "/_sim/instances/" + instance, null, settings);
    }

    JsonObject stats(String instance) {
        return http.get(sim.actualPort(), "/_sim/stats?devices=false", null).bodyAsJsonObject().getJsonObject("instances")
                .getJsonObject(instance);
    }

    /** Per device: calls, first, last (epoch ms); plus maxInAnySecond over every request that arrived. */
    JsonObject calls(String instance) {
        return http.get(sim.actualPort(), "/_sim/instances/" + instance + "/calls", null).bodyAsJsonObject();
    }

    /**
     * Check-ins of devices {@code prefix-0 .. prefix-(devices-1)} in batches of {@code perRequest}, one batch every
     * {@code pauseMillis}, to the public port {@code port} gives at each attempt (it may change across a restart).
     * A batch that is not answered 202 (connection refused, 503, ...) is sent again after 200 ms, unchanged.
     */
    final class Burst extends Thread {
        private final IntSupplier port;
        private final String environment;
        private final String prefix;
        private final int devices;
        private final int perRequest;
        private final long pauseMillis;
        final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        /** Devices handed to the next user: when their check-out was acknowledged (epoch ms). */
        final Map<String, Long> checkedOut = new ConcurrentHashMap<>();
        final AtomicLong refused = new AtomicLong();
        final Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        volatile Throwable failure;
        private volatile boolean stopped;

        Burst(IntSupplier port, String environment, String prefix, int devices, int perRequest, long pauseMillis) {
            super("burst-" + prefix);
            this.port = port;
            this.environment = environment;
            this.prefix = prefix;
            this.devices = devices;
            this.perRequest = perRequest;
            this.pauseMillis = pauseMillis;
            setDaemon(true);
            bursts.add(this);
        }

        /** Stops sending (after the request under way): a locker that goes away. */
        void halt() {
            stopped = true;
            interrupt();
        }

        @Override
        public void run() {
            try {
                List<List<String>> sent = new ArrayList<>();
                for (int first = 0; first < devices && !stopped; first += perRequest) {
                    JsonArray events = new JsonArray();
                    List<String> ids = new ArrayList<>();
                    for (int d = first; d < Math.min(devices, first + perRequest); d++) {
                        String device = prefix + "-" + d;
                        ids.add(device);
                        events.add(checkIn("ev-" + device, environment, device, java.time.Instant.now().toString()));
                    }
                    if (sendUntilAcknowledged(new JsonObject().put("events", events), ids.get(0))) {
                        acknowledged.addAll(ids);
                    }
                    sent.add(ids);
                    // every tenth device of the batch sent CHECK_OUT_LAG batches ago goes to the next user: its job may
                    // be queued (cancelled), claimed or under way (fenced) — never may Epic hear of it after this
                    if (sent.size() > CHECK_OUT_LAG) {
                        handOut(sent.get(sent.size() - 1 - CHECK_OUT_LAG));
                    }
                    Thread.sleep(pauseMillis);
                }
            } catch (InterruptedException e) {
                if (!stopped) {
                    failure = e;
                }
            } catch (Throwable t) {
                failure = t;
            }
        }

        private void handOut(List<String> batch) throws InterruptedException {
            JsonArray events = new JsonArray();
            List<String> out = new ArrayList<>();
            for (String device : batch) {
                if (device.hashCode() % 10 == 0 && acknowledged.contains(device)) {
                    out.add(device);
                    events.add(Fixtures.checkOut("out-" + device, environment, device, java.time.Instant.now().toString()));
                }
            }
            if (!out.isEmpty() && sendUntilAcknowledged(new JsonObject().put("events", events), out.get(0))) {
                long at = System.currentTimeMillis();
                out.forEach(d -> checkedOut.putIfAbsent(d, at));
            }
        }

        /** Sends {@code body} until it is answered 202, as a locker does; false if stopped first. */
        private boolean sendUntilAcknowledged(JsonObject body, String firstDevice) throws InterruptedException {
            long giveUp = System.nanoTime() + 180_000_000_000L;
            while (!stopped) {
                int status = post(body);
                statuses.computeIfAbsent(status, s -> new AtomicInteger()).incrementAndGet();
                if (status == 202) {
                    return true;
                }
                refused.incrementAndGet();
                if (System.nanoTime() > giveUp) {
                    throw new IllegalStateException("batch from " + firstDevice + " not acknowledged in 3 minutes");
                }
                Thread.sleep(200);
            }
            return false;
        }

        /** The status, or 0 when no answer came (connection refused or reset). */
        private int post(JsonObject body) {
            try {
                return http.post(port.getAsInt(), "/v1/checkins", TestGateway.INGEST, body).statusCode();
            } catch (RuntimeException e) {
                return 0;
            }
        }

        void finish() throws InterruptedException {
            join(240_000);
            assertThat(isAlive()).as("burst still sending").isFalse();
            if (failure != null) {
                throw new AssertionError("burst failed", failure);
            }
        }

        int devices() {
            return devices;
        }
    }

    /**
     * The count, from Epic's side, once every acknowledged device has been called: how many were acknowledged and
     * called, how many lost (acknowledged, never called), calls beyond the first (duplicates) and the busiest sliding
     * second of all requests.
     */
    record Count(int acknowledged, int checkedOut, int called, int lost, long duplicates, int afterCheckOut,
                 long maxInAnySecond, long requests) {
        @Override
        public String toString() {
            return "acknowledged " + acknowledged + " (" + checkedOut + " handed out again), called " + called
                    + ", lost " + lost + ", duplicates " + duplicates + ", calls after a check-out " + afterCheckOut
                    + ", busiest second " + maxInAnySecond + ", requests at Epic " + requests;
        }
    }

    /** A call that reached Epic later than this after its device's check-out was acknowledged logged out the next user. */
    static final long IN_FLIGHT_TOLERANCE_MILLIS = 100;
    private static final int CHECK_OUT_LAG = 5;

    /**
     * Counts what {@code bursts} sent: a device checked in and acknowledged must be called (unless it was handed out
     * again, when a call is optional), never later than its check-out's acknowledgement (+ the in-flight tolerance).
     */
    Count count(String instance, Burst... bursts) {
        Set<String> acknowledged = new java.util.HashSet<>();
        Map<String, Long> checkedOut = new java.util.HashMap<>();
        for (Burst b : bursts) {
            acknowledged.addAll(b.acknowledged);
            b.checkedOut.forEach((d, t) -> checkedOut.merge(d, t, Math::min));
        }
        JsonObject c = calls(instance);
        JsonObject devices = c.getJsonObject("devices");
        int called = 0;
        int lost = 0;
        int afterCheckOut = 0;
        long duplicates = 0;
        for (String d : acknowledged) {
            JsonObject entry = devices.getJsonObject(d);
            Long out = checkedOut.get(d);
            if (entry == null) {
                lost += out == null ? 1 : 0;
                continue;
            }
            called++;
            duplicates += entry.getLong("calls") - 1;
            if (out != null && entry.getLong("last") > out + IN_FLIGHT_TOLERANCE_MILLIS) {
                afterCheckOut++;
            }
        }
        return new Count(acknowledged.size(), checkedOut.size(), called, lost, duplicates, afterCheckOut,
                c.getLong("maxInAnySecond"), stats(instance).getLong("requests"));
    }

    /**
     * Waits until every acknowledged device has had its call (or {@code seconds} pass) and then until no request
     * has reached Epic for 3 s (a late repeat, e.g. a rescued job, is counted too), then counts.
     */
    Count awaitDrained(String instance, int seconds, Burst... bursts) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        Count c = count(instance, bursts);
        while (c.lost() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(250);
            c = count(instance, bursts);
        }
        long requests = -1;
        long quietSince = System.nanoTime();
        while (System.nanoTime() - quietSince < 3_000_000_000L && System.nanoTime() < deadline) {
            long now = stats(instance).getLong("requests");
            if (now != requests) {
                requests = now;
                quietSince = System.nanoTime();
            }
            Thread.sleep(250);
        }
        return count(instance, bursts);
    }

    @Override
    public void close() {
        bursts.forEach(Burst::halt);
        for (Burst b : bursts) {
            try {
                b.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        http.close();
        TestGateway.join(vertx.close());
    }
}
