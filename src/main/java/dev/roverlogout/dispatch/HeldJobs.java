package dev.roverlogout.dispatch;

import java.util.ArrayDeque;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.store.JobStore;
import io.vertx.core.Future;

/**
 * Jobs a lane has claimed but not sent yet, oldest claim first, with the time of the claim (their lease runs from
 * then), and how many more to claim ({@link #toClaim}). Giving them back puts them in the queue again at once, not
 * counted as an attempt (fenced ones end cancelled); if that write fails they wait for their lease to run out and the
 * rescuer requeues them. Confined to the lane's context.
 */
final class HeldJobs {
    private static final Logger log = LoggerFactory.getLogger(Lane.class);

    private record Held(JobStore.ClaimedJob job, long claimedAt) {
    }

    /** A lane that can send fewer calls than this in ~50 ms claims only when it holds none. */
    static final int MIN_CLAIM_AHEAD = 8;

    private final ArrayDeque<Held> held = new ArrayDeque<>();
    /** Monotonic nanos before which the lane claims only when it holds no job (the queue looked empty). */
    private long noClaimAheadBefore = System.nanoTime();
    private final JobStore jobs;
    private final String environmentId;
    private final String owner;
    private final long fence;

    HeldJobs(JobStore jobs, String environmentId, String owner, long fence) {
        this.jobs = jobs;
        this.environmentId = environmentId;
        this.owner = owner;
        this.fence = fence;
    }

    void add(List<JobStore.ClaimedJob> claimed, long claimedAt) {
        claimed.forEach(j -> held.add(new Held(j, claimedAt)));
    }

    boolean isEmpty() {
        return held.isEmpty();
    }

    int size() {
        return held.size();
    }

    /**
     * How many jobs to claim now ({@code 0}: none) for a lane that could use {@code want} soon. Claim ahead: up to
     * {@code want}, and again once half of it is sent. A fast lane thus refills a finished call's slot from jobs it
     * holds instead of after a claim's round trip (one claim at a time, of the one or two slots freed meanwhile, was
     * what limited an unlimited lane to ~1,700 calls/s); a slow one (want below {@link #MIN_CLAIM_AHEAD}) claims as
     * before, when it holds none, and costs no more claims; nor does a lane whose queue looked empty
     * ({@link #claimAheadFrom}). Held jobs stay fenceable until they leave.
     */
    int toClaim(int want, long now) {
        boolean claim = want > held.size() && (held.isEmpty()
                || want >= MIN_CLAIM_AHEAD && held.size() * 2 < want && now - noClaimAheadBefore >= 0);
        return claim ? want - held.size() : 0;
    }

    /** No claiming ahead before {@code nanos} (a short or failed claim); now: new jobs were notified. */
    void claimAheadFrom(long nanos) {
        noClaimAheadBefore = nanos;
    }

    /** When the oldest held job was claimed (monotonic nanos); only when not empty. */
    long oldestClaimedAt() {
        return held.peek().claimedAt();
    }

    JobStore.ClaimedJob next() {
        return held.poll().job();
    }

    /** A check-out fenced this job: if it is held (its call has not left), it is given back, which cancels it. */
    void fenced(long jobId) {
        if (held.removeIf(h -> h.job().id() == jobId)) {
            unclaim(List.of(jobId));
        }
    }

    /** Gives every held job back; completes when the write is done (or failed: then the rescuer's turn). */
    Future<?> giveBack() {
        if (held.isEmpty()) {
            return Future.succeededFuture();
        }
        List<Long> ids = held.stream().map(h -> h.job().id()).toList();
        held.clear();
        return unclaim(ids);
    }

    private Future<?> unclaim(List<Long> ids) {
        return jobs.unclaim(ids, owner, fence).onFailure(x -> log.atWarn().addKeyValue("environment", environmentId)
                .log("Lane {}: {} unsent jobs wait for their lease to run out: {}", environmentId, ids.size(), x.getMessage()));
    }
}
