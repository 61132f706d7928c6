package dev.roverlogout.store;

/** The database cannot be started or reached at start-up; the message says what to do. */
public final class DatabaseStartException extends dev.roverlogout.lifecycle.StartFailure {
    public DatabaseStartException(String message) {
        super(message);
    }

    public DatabaseStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
