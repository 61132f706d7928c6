package dev.roverlogout.sim;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import io.vertx.core.json.JsonObject;

/**
 * One simulated Epic Interconnect instance: who may call it (client id, JWK Set URL), how it behaves
 * (rate limit, latency, errors, outage, key not yet synced) and what it saw. Settings change at runtime through
 * {@code /_sim/instances/{name}}; all fields are touched on the simulator's event loop only.
 */
final class SimInstance {
    final String name;
    String clientId;
    String jwksUrl;
    /** Calls per second before 429 (0 = unlimited). */
    int rateLimitPerSecond;
    long latencyMillis;
    /** Share of disassociate calls answered 503 (0..1). */
    double errorRate;
    /** Long tail: this share of calls (0..1) gets tailLatencyMillis on top of latencyMillis. */
    double tailRate;
    long tailLatencyMillis;
    /** Share of calls (0..1) that are never answered (the caller's timeout must fire). */
    double hangRate;
    boolean outage;
    /** An outage window: every call is answered 503 until this time (epoch ms). */
    long outageUntil;
    /** Devices answered 400 (a permanent error, with Epic's message) and 404 (not associated). */
    java.util.Set<String> rejectDevices = java.util.Set.of();
    java.util.Set<String> unknownDevices = java.util.Set.of();
    /** A public key or certificate (PEM) registered by upload instead of a JWK Set URL. */
    String publicKeyPem;
    /** false = the token endpoint answers invalid_client, as Epic does until a new key has synced. */
    boolean keySynced = true;
    int tokenLifetimeSeconds = 3600;

    final Map<String, Long> tokens = new ConcurrentHashMap<>();          // access token -> expiry (epoch ms)
    final Map<String, Long> usedJti = new ConcurrentHashMap<>();         // jti -> expiry (epoch ms)
    final Map<String, AtomicLong> callsPerDevice = new ConcurrentHashMap<>();
    final Map<Long, AtomicLong> callsPerSecond = new ConcurrentHashMap<>();
    /** Per device: first and last call (epoch ms), for end-to-end accounting (issue 5). */
    final Map<String, long[]> callTimes = new ConcurrentHashMap<>();
    /** The X-Request-ID of each device's latest call: lets a test follow a check-in's request id all the way here. */
    final Map<String, String> lastRequestId = new ConcurrentHashMap<>();
    /** Every successful call's arrival (epoch ms), for the busiest sliding one-second window. */
    private long[] arrivals = new long[1024];
    private int arrivalCount;
    final AtomicLong tokenRequests = new AtomicLong();
    final AtomicLong tokensIssued = new AtomicLong();
    final Map<String, AtomicLong> tokenFailures = new ConcurrentHashMap<>();
    final AtomicLong rateLimited = new AtomicLong();
    final AtomicLong injectedErrors = new AtomicLong();
    final AtomicLong unauthorized = new AtomicLong();
    final AtomicLong hung = new AtomicLong();
    /** Disassociate requests being processed now (arrived, not yet answered or abandoned), and the most at once. */
    private int inFlight;
    private int maxInFlight;
    long windowSecond;
    int windowCount;

    SimInstance(String name) {
        this.name = name;
    }

    /** Applies the settings present in {@code o}; unknown fields are ignored by the caller's validation. */
    void configure(JsonObject o) {
        clientId = o.getString("clientId", clientId);
        jwksUrl = o.getString("jwksUrl", jwksUrl);
        rateLimitPerSecond = o.getInteger("rateLimitPerSecond", rateLimitPerSecond);
        latencyMillis = o.getLong("latencyMillis", latencyMillis);
        errorRate = o.getDouble("errorRate", errorRate);
        outage = o.getBoolean("outage", outage);
        tailRate = o.getDouble("tailRate", tailRate);
        tailLatencyMillis = o.getLong("tailLatencyMillis", tailLatencyMillis);
        hangRate = o.getDouble("hangRate", hangRate);
        publicKeyPem = o.getString("publicKeyPem", publicKeyPem);
        if (o.getJsonArray("rejectDevices") != null) {
            rejectDevices = java.util.Set.copyOf(o.getJsonArray("rejectDevices").getList());
        }
        if (o.getJsonArray("unknownDevices") != null) {
            unknownDevices = java.util.Set.copyOf(o.getJsonArray("unknownDevices").getList());
        }
        if (o.containsKey("outageSeconds")) {
            outageUntil = System.currentTimeMillis() + o.getLong("outageSeconds") * 1000;
        }
        keySynced = o.getBoolean("keySynced", keySynced);
        tokenLifetimeSeconds = o.getInteger("tokenLifetimeSeconds", tokenLifetimeSeconds);
    }

    SimInstance tap(java.util.function.Consumer<SimInstance> f) {
        f.accept(this);
        return this;
    }

    boolean inOutage() {
        return outage || System.currentTimeMillis() < outageUntil;
    }

    JsonObject settings() {
        return new JsonObject().put("name", name).put("clientId", clientId).put("jwksUrl", jwksUrl)
                .put("rateLimitPerSecond", rateLimitPerSecond).put("latencyMillis", latencyMillis)
                .put("errorRate", errorRate).put("tailRate", tailRate).put("tailLatencyMillis", tailLatencyMillis)
                .put("hangRate", hangRate).put("outage", outage).put("outageUntil", outageUntil)
                .put("publicKeyRegistered", publicKeyPem != null).put("keySynced", keySynced)
                .put("tokenLifetimeSeconds", tokenLifetimeSeconds);
    }

    /** Records a disassociation made for {@code device} at {@code epochMillis}, asked with {@code requestId} (may be null). */
    void recordCall(String device, long epochMillis, String requestId) {
        if (requestId != null) {
            lastRequestId.put(device, requestId);
        }
        callsPerDevice.computeIfAbsent(device, d -> new AtomicLong()).incrementAndGet();
        callsPerSecond.computeIfAbsent(epochMillis / 1000, x -> new AtomicLong()).incrementAndGet();
        callTimes.compute(device, (d, t) -> t == null ? new long[] {epochMillis, epochMillis}
                : new long[] {Math.min(t[0], epochMillis), Math.max(t[1], epochMillis)});
    }

    /**
     * Records a DisassociateMobileDevice request arriving, whatever it is answered (200, 429, 503, ...): Epic counts
     * every request against its limit, so the busiest sliding second is judged on these.
     */
    synchronized void recordArrival(long epochMillis) {
        if (arrivalCount == arrivals.length) {
            arrivals = java.util.Arrays.copyOf(arrivals, arrivals.length * 2);
        }
        arrivals[arrivalCount++] = epochMillis;
    }

    synchronized void enter() {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
    }

    synchronized void leave() {
        inFlight--;
    }

    synchronized int inFlightNow() {
        return inFlight;
    }

    synchronized int maxInFlightSeen() {
        return maxInFlight;
    }

    synchronized long requests() {
        return arrivalCount;
    }

    /** The most requests that arrived within any sliding window of one second (1,000 ms), 429s and 503s included. */
    synchronized long maxInAnySecond() {
        long[] t = java.util.Arrays.copyOf(arrivals, arrivalCount);
        java.util.Arrays.sort(t);
        int max = 0;
        for (int lo = 0, hi = 0; hi < t.length; hi++) {
            while (t[hi] - t[lo] >= 1000) {
                lo++;
            }
            max = Math.max(max, hi - lo + 1);
        }
        return max;
    }

    /** Per device: calls, first and last call time (epoch ms), the latest call's X-Request-ID; plus the busiest sliding second. */
    JsonObject calls() {
        JsonObject devices = new JsonObject();
        callTimes.forEach((d, t) -> devices.put(d, new JsonObject().put("calls", callsPerDevice.get(d).get())
                .put("first", t[0]).put("last", t[1]).put("requestId", lastRequestId.get(d))));
        return new JsonObject().put("name", name).put("maxInAnySecond", maxInAnySecond()).put("devices", devices);
    }

    JsonObject stats() {
        return stats(true);
    }

    /** Counters; {@code withDevices} = also calls per device (large: one entry per device called). */
    JsonObject stats(boolean withDevices) {
        JsonObject devices = new JsonObject();
        long calls = 0;
        long duplicates = 0;
        for (Map.Entry<String, AtomicLong> e : callsPerDevice.entrySet()) {
            devices.put(e.getKey(), e.getValue().get());
            calls += e.getValue().get();
            duplicates += e.getValue().get() - 1;
        }
        JsonObject perSecond = new JsonObject();
        long maxPerSecond = 0;
        for (Map.Entry<Long, AtomicLong> e : new java.util.TreeMap<>(callsPerSecond).entrySet()) {
            perSecond.put(Long.toString(e.getKey()), e.getValue().get());
            maxPerSecond = Math.max(maxPerSecond, e.getValue().get());
        }
        JsonObject failures = new JsonObject();
        tokenFailures.forEach((reason, n) -> failures.put(reason, n.get()));
        return settings().put("tokenRequests", tokenRequests.get()).put("tokensIssued", tokensIssued.get())
                .put("tokenFailures", failures).put("disassociateCalls", calls).put("devices", callsPerDevice.size())
                .put("duplicateCalls", duplicates).put("maxCallsPerSecond", maxPerSecond)
                .put("rateLimited", rateLimited.get()).put("injectedErrors", injectedErrors.get())
                .put("unauthorized", unauthorized.get()).put("hung", hung.get()).put("requests", requests())
                .put("inFlight", inFlightNow()).put("maxInFlight", maxInFlightSeen()).put("callsPerSecond", perSecond).put("callsPerDevice", withDevices ? devices : null);
    }
}
