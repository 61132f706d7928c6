package dev.roverlogout.epic;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where the gateway may send requests on an admin's word (SSRF rules, docs/security.md). Epic servers of hospitals
 * live on private networks, so private ranges (RFC 1918, ULA) and loopback stay allowed; what is refused are the
 * addresses no Epic server has and that hand out secrets to whoever asks from inside a cloud: link-local
 * (169.254.0.0/16, fe80::/10, which holds every cloud's instance metadata service at 169.254.169.254) and the
 * metadata services at other addresses or names (AWS fd00:ec2::254, Alibaba 100.100.100.200,
 * metadata.google.internal).
 *
 * <p>{@link #refusedHost} needs no DNS (validation of a URL); {@link #refusedAddress} judges a resolved address
 * (test-connection's dns step).
 */
public final class OutboundAddresses {
    private static final Set<String> METADATA_NAMES = Set.of("metadata.google.internal", "metadata.goog", "metadata",
            "instance-data", "instance-data.ec2.internal");
    /** Something a resolver (inet_aton) could read as an IPv4 address: decimal, octal or 0x-hex parts. */
    private static final Pattern NUMERIC = Pattern.compile("(0x[0-9a-f]*|[0-9]+)(\\.(0x[0-9a-f]*|[0-9]*))*");
    private static final Pattern DOTTED_QUAD = Pattern.compile("((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
            + "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])");
    private static final byte[] AWS_METADATA_V6 = literal("fd00:ec2::254").getAddress();
    private static final byte[] ALIBABA_METADATA = literal("100.100.100.200").getAddress();
    private static final byte[] NAT64_PREFIX = {0, 0x64, (byte) 0xff, (byte) 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

    private OutboundAddresses() {
    }

    /**
     * Why the host of a URL may not be called, or null when it may. Literal addresses are judged as addresses;
     * numbers a resolver might read as an address in another form (one number, hex, octal, leading zeros) are refused
     * outright. No DNS lookup.
     */
    public static String refusedHost(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        if (METADATA_NAMES.contains(h)) {
            return "is a cloud metadata service, never an Epic server";
        }
        if (h.contains(":")) {
            if (h.contains("%")) {
                return "must not carry an IPv6 zone (only link-local addresses need one)";
            }
            try {
                return refusedAddress(literal(h));
            } catch (IllegalArgumentException e) {
                return "is not a valid IPv6 address";
            }
        }
        if (NUMERIC.matcher(h).matches()) {
            if (!DOTTED_QUAD.matcher(h).matches()) {
                return "write an IPv4 address as four decimal numbers without leading zeros (other forms are read "
                        + "differently by different resolvers)";
            }
            return refusedAddress(literal(h));
        }
        return null;
    }

    /** Why a resolved address may not be called, or null when it may. */
    public static String refusedAddress(InetAddress address) {
        byte[] a = address.getAddress();
        if (address instanceof Inet6Address && a.length == 16
                && Arrays.equals(Arrays.copyOf(a, 12), NAT64_PREFIX)) { // 64:ff9b::a.b.c.d reaches a.b.c.d
            return refusedAddress(literal((a[12] & 0xff) + "." + (a[13] & 0xff) + "." + (a[14] & 0xff) + "." + (a[15] & 0xff)));
        }
        if (Arrays.equals(a, AWS_METADATA_V6) || Arrays.equals(a, ALIBABA_METADATA)) {
            return "is a cloud metadata service address (" + address.getHostAddress() + "), never an Epic server";
        }
        if (address.isLinkLocalAddress()) {
            return "is a link-local address (" + address.getHostAddress() + ", where cloud metadata services live), "
                    + "never an Epic server";
        }
        return null;
    }

    /** A literal address (never a DNS lookup: only called with address text). */
    private static InetAddress literal(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an address literal: " + text, e);
        }
    }
}
