package dev.roverlogout.ingest;

/**
 * Why the ingest committer did not store a request's events (or cannot say whether it did). A domain error: the
 * committer knows nothing of HTTP; {@link CheckInRoutes} turns each reason into problem details and a metric.
 */
public final class IngestRefused extends RuntimeException {
    /** What happened; {@link #retryable} reasons are answered 503 with Retry-After. */
    public enum Reason {
        /** the gateway is stopping and takes nothing more */
        SHUTTING_DOWN(true),
        /** too many events already wait for a writer */
        OVERLOADED(true),
        /** the request waited longer than ingest.commitTimeout for a writer: never written */
        NOT_WRITTEN_IN_TIME(true),
        /** the commit was not confirmed within ingest.commitTimeout (or the connection dropped during it) */
        COMMIT_UNCONFIRMED(true),
        /** the database is unreachable, read-only or refusing connections */
        DATABASE_UNAVAILABLE(true),
        /** the database refused the write for another reason: a defect, logged with its SQLSTATE */
        INTERNAL(false);

        public final boolean retryable;

        Reason(boolean retryable) {
            this.retryable = retryable;
        }
    }

    private final Reason reason;

    IngestRefused(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
