package dev.roverlogout.http;

import io.vertx.core.buffer.Buffer;

/**
 * Checks on request text shared by every route that reads a body or a path (ingest and admin alike): strict UTF-8,
 * and strings that UTF-8 can store as they are.
 */
public final class BodyText {
    private BodyText() {
    }

    /**
     * Strict UTF-8 (RFC 8259 §8.1). Vert.x decodes a body leniently, turning invalid bytes into U+FFFD: two different
     * malformed event ids would be stored as the same one (a false duplicate). Overlong forms and encoded surrogates
     * are refused too.
     */
    public static boolean isUtf8(Buffer body) {
        byte[] bytes = body.getBytes();
        boolean ascii = true;
        for (byte b : bytes) {
            if (b < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return true;
        }
        try {
            java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes));
            return true;
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }

    /** JSON allows "\ud800" alone; UTF-8 cannot carry it (it would be stored as '?' and collide). */
    public static boolean wellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return false;
            }
        }
        return true;
    }
}
