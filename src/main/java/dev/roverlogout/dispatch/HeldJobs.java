package dev.roverlogout.dispatch;

import java.util.ArrayDeque;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.store.JobStore;
import io.vertx.core.Future;

/**
 * Jobs a lane has claimed but not sent yet, oldest claim first, with the time of the claim (their lease runs from
 * then). Giving them back puts them in the queue again at once, not counted as an attempt (fenced ones end
 * cancelled); if that write fails they wait for their lease to run out and the rescuer requeues them. Confined to
 * the lane's context.
 */
final class HeldJobs {
    private static final Logger log = LoggerFactory.getLogger(Lane.class);

    private record Held(JobStore.ClaimedJob job, long claimedAt) {
    }

    private final ArrayDeque<Held> held = new ArrayDeque<>();
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
