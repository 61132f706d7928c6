package dev.roverlogout.loadtest;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * What the driver will send and when, worked out before the first request (open workload model: the schedule
 * does not depend on the answers). Deterministic for a scenario and seed.
 */
final class Schedule {
    /** One device's part: its environment, when its check-in is due, and when its check-out follows (or -1). */
    record Device(String id, int environment, long checkInAtMillis, long checkOutAtMillis) {
    }

    enum Kind { CHECK_IN, CHECK_OUT, INVALID }

    /** One request: due at {@code atMillis} after the start; {@code resend} = sent again after its answer. */
    record Request(long atMillis, Kind kind, List<Device> devices, boolean resend) {
    }

    final List<Device> devices;
    final List<Request> requests;
    final double[] environmentWeights;

    private Schedule(List<Device> devices, List<Request> requests, double[] environmentWeights) {
        this.devices = devices;
        this.requests = requests;
        this.environmentWeights = environmentWeights;
    }

    static Schedule of(Scenario s, String runTag) {
        Random random = new Random(s.seed());
        double[] weights = new double[s.environments().count()];
        double total = 0;
        for (int k = 0; k < weights.length; k++) {
            weights[k] = 1 / Math.pow(k + 1, s.environments().skew());
            total += weights[k];
        }
        for (int k = 0; k < weights.length; k++) {
            weights[k] /= total;
        }
        double[] cdf = profileCdf(s.profile());
        long durationMillis = Math.round(s.seconds() * 1000);
        List<Device> devices = new ArrayList<>(s.devices());
        for (int i = 0; i < s.devices(); i++) {
            double q = (i + 0.5) / s.devices();
            long at = Math.round(inverse(cdf, q) * durationMillis);
            int env = pick(weights, random.nextDouble());
            long out = random.nextDouble() < s.checkOutShare()
                    ? at + 1 + (long) (random.nextDouble() * s.checkOutDelayMillis()) : -1;
            devices.add(new Device("lt-" + runTag + "-" + i, env, at, out));
        }
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < devices.size(); i += s.batchSize()) {
            List<Device> batch = devices.subList(i, Math.min(devices.size(), i + s.batchSize()));
            requests.add(new Request(batch.get(batch.size() - 1).checkInAtMillis(), Kind.CHECK_IN, List.copyOf(batch),
                    random.nextDouble() < s.duplicateShare()));
        }
        int checkInRequests = requests.size();
        for (Device d : devices) {
            if (d.checkOutAtMillis() >= 0) {
                requests.add(new Request(d.checkOutAtMillis(), Kind.CHECK_OUT, List.of(d), false));
            }
        }
        long invalid = Math.round(checkInRequests * s.invalidShare());
        for (long i = 0; i < invalid; i++) {
            requests.add(new Request((long) (random.nextDouble() * durationMillis), Kind.INVALID, List.of(), false));
        }
        requests.sort(Comparator.comparingLong(Request::atMillis));
        return new Schedule(devices, requests, weights);
    }

    /** The request body; occurredAt = the wall-clock time the event is due (start + offset). */
    static JsonObject body(Request r, long startEpochMillis, String[] environmentIds, String runTag, int index) {
        JsonArray events = new JsonArray();
        switch (r.kind()) {
            case CHECK_IN -> r.devices().forEach(d -> events.add(event("in-" + d.id(), environmentIds[d.environment()],
                    d.id(), startEpochMillis + d.checkInAtMillis(), "CHECK_IN")));
            case CHECK_OUT -> r.devices().forEach(d -> events.add(event("out-" + d.id(), environmentIds[d.environment()],
                    d.id(), startEpochMillis + d.checkOutAtMillis(), "CHECK_OUT")));
            case INVALID -> events.add(new JsonObject().put("eventId", "bad-" + runTag + "-" + index)
                    .put("environmentId", environmentIds[0]).put("occurredAt", "yesterday")); // no deviceId, bad time
        }
        return new JsonObject().put("events", events);
    }

    private static JsonObject event(String eventId, String env, String device, long epochMillis, String type) {
        return new JsonObject().put("eventId", eventId).put("type", type).put("environmentId", env).put("deviceId", device)
                .put("occurredAt", java.time.Instant.ofEpochMilli(epochMillis).toString()).put("lockerId", "loadtest");
    }

    /** Cumulative share of arrivals at 1,000 steps over the duration, for the profile's shape. */
    static double[] profileCdf(Scenario.Profile p) {
        int steps = 1000;
        double[] density = new double[steps];
        for (int i = 0; i < steps; i++) {
            double x = (i + 0.5) / steps;
            density[i] = switch (p.type()) {
                case "ramp" -> p.startShare() + (1 - p.startShare()) * x;
                case "shift-change" -> (1 - p.peakShare())
                        + p.peakShare() * Math.exp(-0.5 * Math.pow((x - p.peakAtShare()) / p.peakWidthShare(), 2))
                        / (p.peakWidthShare() * Math.sqrt(2 * Math.PI));
                default -> 1;
            };
        }
        double[] cdf = new double[steps + 1];
        for (int i = 0; i < steps; i++) {
            cdf[i + 1] = cdf[i] + density[i];
        }
        for (int i = 0; i <= steps; i++) {
            cdf[i] /= cdf[steps];
        }
        return cdf;
    }

    /** x in [0, 1] where the cumulative share reaches q (linear between steps). */
    static double inverse(double[] cdf, double q) {
        int lo = 0;
        int hi = cdf.length - 1;
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (cdf[mid] < q) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        double span = cdf[hi] - cdf[lo];
        double within = span == 0 ? 0 : (q - cdf[lo]) / span;
        return (lo + within) / (cdf.length - 1);
    }

    private static int pick(double[] weights, double u) {
        double acc = 0;
        for (int k = 0; k < weights.length; k++) {
            acc += weights[k];
            if (u < acc) {
                return k;
            }
        }
        return weights.length - 1;
    }
}
