package dev.roverlogout.lifecycle;

/**
 * The gateway cannot start, for a reason the operator can fix; the message says what and how (which key or flag).
 * {@code Main} prints the message of the first one in a failure's cause chain instead of a stack trace.
 */
public class StartFailure extends RuntimeException {
    public StartFailure(String message) {
        super(message);
    }

    public StartFailure(String message, Throwable cause) {
        super(message, cause);
    }

    /** The first start failure in {@code e}'s cause chain, if any. */
    public static java.util.Optional<StartFailure> in(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof StartFailure f) {
                return java.util.Optional.of(f);
            }
        }
        return java.util.Optional.empty();
    }

    /** A server's port is taken: names the port, the host and the key (and variable) that moves it. */
    public static Throwable portInUse(Throwable e, String host, int port, String key) {
        if (!(e instanceof java.net.BindException)) {
            return e;
        }
        String variable = "RLG_" + key.toUpperCase(java.util.Locale.ROOT).replace('.', '_');
        return new StartFailure("port " + port + " on " + host + " is already in use (" + e.getMessage() + "): stop what "
                + "holds it, or give the gateway another port with " + key + " (" + variable + ")", e);
    }
}
