package dev.roverlogout.config;

/** A configuration key with a bad value, or an unknown key. The message names the key and the reason. */
public final class ConfigException extends RuntimeException {
    private final String key;

    public ConfigException(String key, String reason) {
        super(key + ": " + reason);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
