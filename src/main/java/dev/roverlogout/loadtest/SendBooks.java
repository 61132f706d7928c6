package dev.roverlogout.loadtest;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.HdrHistogram.Histogram;

import io.vertx.core.AsyncResult;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/**
 * The books of the sending: requests offered, sent, dropped and how the gateway answered them, in total and per
 * second, and per device which check-ins and check-outs it acknowledged (what {@link Accounting} holds against
 * what Epic saw). Written on the driver's context by the {@link OpenLoopSender}; the caller reads them only after
 * sending is done.
 */
final class SendBooks {
    private final Scenario s;
    private final Schedule schedule;
    private final String[] envIds;
    private final PrintStream out;

    private final Histogram ack = new Histogram(Driver.HIGHEST_MICROS, 3);
    private final List<Driver.Second> seconds = new ArrayList<>();
    private final Map<String, Long> checkOutAckedAt = new HashMap<>();
    private final Set<String> checkInAccepted = new HashSet<>();
    /** Devices whose check-out got no 202 (error or no answer): it may still have been stored, so no call is due. */
    private final Set<String> checkOutUnanswered = new HashSet<>();
    private long startEpochMillis;
    private long sendingEndedEpochMillis;
    private long sent;
    private long ok;
    private long errors;
    private long dropped;
    private long droppedDevices;
    private long resent;
    private long resentConfirmed;
    private long invalidSent;
    private long invalidRefused;
    private long unexpected;
    private final List<String> unexpectedSamples = new ArrayList<>();

    SendBooks(Scenario scenario, Schedule schedule, String[] envIds, PrintStream out) {
        this.s = scenario;
        this.schedule = schedule;
        this.envIds = envIds;
        this.out = out;
    }

    void started(long epochMillis) {
        startEpochMillis = epochMillis;
    }

    void ended(long epochMillis) {
        sendingEndedEpochMillis = epochMillis;
    }

    /** The per-second series entry of {@code elapsedMillis} after the start, created as the run goes on. */
    Driver.Second second(long elapsedMillis) {
        int i = (int) Math.max(0, elapsedMillis / 1000);
        while (seconds.size() <= i) {
            seconds.add(new Driver.Second());
        }
        return seconds.get(i);
    }

    /** A request came due; {@code admitted} false = dropped, as {@code maxInFlight} requests were outstanding. */
    void offered(Schedule.Request r, boolean admitted) {
        Driver.Second due = second(r.atMillis());
        due.offered++;
        if (!admitted) {
            dropped++;
            due.dropped++;
            droppedDevices += r.devices().size();
        } else if (r.kind() == Schedule.Kind.INVALID) {
            invalidSent++;
        }
    }

    void sent(long elapsedMillis) {
        sent++;
        second(elapsedMillis).sent++;
    }

    /** Time from the due time of a first send (not a re-send) to its answer. */
    void acknowledged(Schedule.Request r, long micros) {
        ack.recordValue(Math.min(micros, Driver.HIGHEST_MICROS));
        second(r.atMillis()).ack.recordValue(Math.min(micros, Driver.HIGHEST_MICROS));
    }

    /** Books the answer to {@code r}; true if it was accepted and the scenario wants it re-sent as a duplicate. */
    boolean answered(Schedule.Request r, boolean isResend, long elapsedMillis, AsyncResult<HttpResponse<Buffer>> ar) {
        Driver.Second at = second(elapsedMillis);
        int status = ar.succeeded() ? ar.result().statusCode() : 0;
        if (r.kind() == Schedule.Kind.INVALID) {
            invalidAnswered(status, at, ar);
            return false;
        }
        if (status != 202) {
            failed(r, isResend, status, at, ar);
            return false;
        }
        ok++;
        at.ok++;
        JsonArray results = ar.result().bodyAsJsonObject().getJsonArray("results", new JsonArray());
        if (isResend) {
            resendAnswered(results, ar);
            return false;
        }
        return accepted(r);
    }

    private void invalidAnswered(int status, Driver.Second at, AsyncResult<HttpResponse<Buffer>> ar) {
        if (status == 400) {
            invalidRefused++;
            at.ok++;
        } else {
            unexpected("invalid event answered " + status, ar);
        }
    }

    private void failed(Schedule.Request r, boolean isResend, int status, Driver.Second at,
                        AsyncResult<HttpResponse<Buffer>> ar) {
        errors++;
        at.errors++;
        if (r.kind() == Schedule.Kind.CHECK_OUT && !isResend) {
            r.devices().forEach(d -> checkOutUnanswered.add(d.id()));
        }
        if (errors <= 5) {
            out.printf("request answered %s%n", ar.succeeded() ? status + " " + ar.result().bodyAsString()
                    : ar.cause().toString());
        }
    }

    private void resendAnswered(JsonArray results, AsyncResult<HttpResponse<Buffer>> ar) {
        boolean allDuplicate = results.stream().allMatch(o -> "duplicate".equals(((JsonObject) o).getString("status")));
        if (allDuplicate) {
            resentConfirmed++;
        } else {
            unexpected("a re-sent request was not all duplicates: " + ar.result().bodyAsString(), ar);
        }
    }

    private boolean accepted(Schedule.Request r) {
        long ackEpoch = System.currentTimeMillis();
        for (Schedule.Device d : r.devices()) {
            if (r.kind() == Schedule.Kind.CHECK_IN) {
                checkInAccepted.add(d.id());
            } else {
                checkOutAckedAt.put(d.id(), ackEpoch);
            }
        }
        if (r.resend()) {
            resent++;
        }
        return r.resend();
    }

    private void unexpected(String what, AsyncResult<HttpResponse<Buffer>> ar) {
        unexpected++;
        if (unexpectedSamples.size() < 5) {
            unexpectedSamples.add(what + (ar.failed() ? " (" + ar.cause() + ")" : ""));
        }
    }

    // ---- read by the progress line, the drain, the accounting and the report

    /** Devices whose check-in was acknowledged and whose check-out was neither acknowledged nor left unanswered. */
    long devicesDueACall() {
        return checkInAccepted.stream()
                .filter(id -> !checkOutAckedAt.containsKey(id) && !checkOutUnanswered.contains(id)).count();
    }

    Accounting accounting() {
        return new Accounting(s, startEpochMillis, checkInAccepted, checkOutAckedAt, checkOutUnanswered);
    }

    long sent() {
        return sent;
    }

    long ok() {
        return ok;
    }

    long errors() {
        return errors;
    }

    long dropped() {
        return dropped;
    }

    long sendingEndedEpochMillis() {
        return sendingEndedEpochMillis;
    }

    Histogram ackHistogram() {
        return ack;
    }

    List<Driver.Second> seconds() {
        return seconds;
    }

    JsonObject counts() {
        return new JsonObject().put("requestsScheduled", schedule.requests.size()).put("requestsSent", sent)
                .put("requestsOk", ok).put("errors", errors).put("droppedArrivals", dropped)
                .put("droppedDevices", droppedDevices).put("duplicateResends", resent)
                .put("duplicateResendsConfirmed", resentConfirmed).put("invalidSent", invalidSent)
                .put("invalidRefused", invalidRefused).put("unexpectedAnswers", unexpected)
                .put("unexpectedSamples", new JsonArray(new ArrayList<>(unexpectedSamples)))
                .put("checkInsAccepted", checkInAccepted.size()).put("checkOutsAccepted", checkOutAckedAt.size())
                .put("startEpochMillis", startEpochMillis).put("sendingEndedEpochMillis", sendingEndedEpochMillis)
                .put("environments", new JsonArray(List.of((Object[]) envIds)));
    }
}
