package dev.roverlogout.epic;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where the gateway may send requests on an admin's word (SSRF rules, docs/security.md). Always refused: the
 * unspecified addresses ({@code 0.0.0.0/8}, {@code [::]}), which reach the gateway's own ports; multicast and
 * broadcast; link-local (169.254.0.0/16, fe80::/10, which holds every cloud's instance metadata service at
 * 169.254.169.254) and the metadata services at other addresses or names (AWS fd00:ec2::254, Alibaba
 * 100.100.100.200, metadata.google.internal). Refused unless the platform allows private networks
 * ({@code epic.allowPrivateNetworks}, and then only for platform administrators): loopback (127.0.0.0/8, ::1,
 * {@code localhost}), private ranges (RFC 1918, ULA fc00::/7) and shared address space (100.64.0.0/10). A hospital's
 * Epic is reached over its public Interconnect address; the demo, the tests and the load tests call a simulator on
 * loopback and turn the setting on.
 *
 * <p>An IPv6 address that carries an IPv4 address a translator or tunnel would deliver to (IPv4-compatible, -mapped
 * and -translated, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4, Teredo) is judged by that IPv4 address too, so that
 * {@code [::169.254.169.254]} or {@code [2002:a9fe:a9fe::1]} cannot slip past the IPv4 rules.
 *
 * <p>{@link #refusedHost} needs no DNS (validation of a URL); {@link #refusedAddress} judges a resolved address
 * (validation of a name, test-connection's dns step).
 */
public final class OutboundAddresses {
    private static final Set<String> METADATA_NAMES = Set.of("metadata.google.internal", "metadata.goog", "metadata",
            "instance-data", "instance-data.ec2.internal");
    /** Something a resolver (inet_aton) could read as an IPv4 address: decimal, octal or 0x-hex parts. */
    private static final Pattern NUMERIC = Pattern.compile("(0x[0-9a-f]*|[0-9]+)(\\.(0x[0-9a-f]*|[0-9]*))*");
    private static final Pattern DOTTED_QUAD = Pattern.compile("((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
            + "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])");
    private static final byte[] BROADCAST = {(byte) 255, (byte) 255, (byte) 255, (byte) 255};
    /** Why a private address was refused, and what would allow it. */
    private static final String PRIVATE_HINT = ": loopback and private networks are allowed only when the platform "
            + "sets epic.allowPrivateNetworks, and then only to platform administrators (Epic is reached at its public "
            + "Interconnect address)";
    private static final byte[] AWS_METADATA_V6 = literal("fd00:ec2::254").getAddress();
    private static final byte[] ALIBABA_METADATA = literal("100.100.100.200").getAddress();
    /** RFC 6052 well-known NAT64 prefix 64:ff9b::/96 (12 bytes). */
    private static final byte[] NAT64_PREFIX = {0, 0x64, (byte) 0xff, (byte) 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    /** RFC 8215 local-use NAT64 prefix 64:ff9b:1::/48 (6 bytes). */
    private static final byte[] NAT64_LOCAL_PREFIX = {0, 0x64, (byte) 0xff, (byte) 0x9b, 0, 1};
    /**
     * Where RFC 6052 §2.2 puts the IPv4 address for the prefix lengths a network may carve out of 64:ff9b:1::/48
     * (/48, /56, /64, /96; byte 8 is the u-octet, never part of the address). Which one a network uses is not
     * visible in the address, so every one is judged.
     */
    private static final int[][] NAT64_LOCAL_POSITIONS = {{6, 7, 9, 10}, {7, 9, 10, 11}, {9, 10, 11, 12}, {12, 13, 14, 15}};

    private OutboundAddresses() {
    }

    /**
     * Why the host of a URL may not be called, or null when it may. Literal addresses are judged as addresses;
     * numbers a resolver might read as an address in another form (one number, hex, octal, leading zeros) are refused
     * outright. No DNS lookup.
     */
    public static String refusedHost(String host, boolean privateAllowed) {
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
        if (!privateAllowed && (h.equals("localhost") || h.endsWith(".localhost"))) {
            return "is this machine (loopback)" + PRIVATE_HINT;
        }
        if (h.contains(":")) {
            if (h.contains("%")) {
                return "must not carry an IPv6 zone (only link-local addresses need one)";
            }
            try {
                return refusedAddress(literal(h), privateAllowed);
            } catch (IllegalArgumentException e) {
                return "is not a valid IPv6 address";
            }
        }
        if (NUMERIC.matcher(h).matches()) {
            if (!DOTTED_QUAD.matcher(h).matches()) {
                return "write an IPv4 address as four decimal numbers without leading zeros (other forms are read "
                        + "differently by different resolvers)";
            }
            return refusedAddress(literal(h), privateAllowed);
        }
        return null;
    }

    /** Whether {@code host} is an address literal (IPv4 dotted quad or bracketed/bare IPv6), judged without DNS. */
    public static boolean isLiteral(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.contains(":") || NUMERIC.matcher(h.endsWith(".") ? h.substring(0, h.length() - 1) : h).matches();
    }

    /** Why a resolved address may not be called, or null when it may. */
    public static String refusedAddress(InetAddress address, boolean privateAllowed) {
        byte[] a = address.getAddress();
        if (address.isAnyLocalAddress() || a.length == 4 && a[0] == 0) {
            return "is an unspecified address (" + address.getHostAddress() + "), which reaches this machine's own "
                    + "ports, never an Epic server";
        }
        return refusedDestination(address, a, privateAllowed);
    }

    /**
     * The rules for an address a packet may be delivered to, also applied to the IPv4 addresses an IPv6 address
     * carries (where zeros are only the unused bytes of a form, not the unspecified address).
     */
    private static String refusedDestination(InetAddress address, byte[] a, boolean privateAllowed) {
        if (address instanceof Inet6Address && a.length == 16) {
            for (Embedded e : embeddedIPv4(a)) {
                String why = refusedDestination(e.address(), e.address().getAddress(), privateAllowed);
                if (why != null) {
                    return "embeds the IPv4 address " + e.address().getHostAddress() + " (" + e.form() + "), which " + why;
                }
            }
        }
        if (Arrays.equals(a, AWS_METADATA_V6) || Arrays.equals(a, ALIBABA_METADATA)) {
            return "is a cloud metadata service address (" + address.getHostAddress() + "), never an Epic server";
        }
        if (address.isMulticastAddress() || Arrays.equals(a, BROADCAST)) {
            return "is a multicast or broadcast address (" + address.getHostAddress() + "), never an Epic server";
        }
        if (address.isLinkLocalAddress()) {
            return "is a link-local address (" + address.getHostAddress() + ", where cloud metadata services live), "
                    + "never an Epic server";
        }
        if (!privateAllowed) {
            String range = privateRange(address, a);
            if (range != null) {
                return "is " + range + " (" + address.getHostAddress() + ")" + PRIVATE_HINT;
            }
        }
        return null;
    }

    /** What kind of non-public address {@code address} is, or null for a public one. */
    private static String privateRange(InetAddress address, byte[] a) {
        if (address.isLoopbackAddress()) {
            return "a loopback address";
        }
        if (address.isSiteLocalAddress() || a.length == 16 && (a[0] & 0xfe) == 0xfc) {
            return "a private network address";
        }
        if (a.length == 4 && (a[0] & 0xff) == 100 && (a[1] & 0xc0) == 64) {
            return "a shared (carrier-grade NAT) address";
        }
        return null;
    }

    /** An IPv4 address carried in an IPv6 address, and the form that carries it. */
    record Embedded(InetAddress address, String form) {
    }

    /**
     * The IPv4 addresses an IPv6 address (16 bytes) carries in the forms that translators and tunnels deliver to:
     * IPv4-compatible ::a.b.c.d (::/96, but not :: and ::1), IPv4-mapped ::ffff:a.b.c.d, IPv4-translated
     * ::ffff:0:a.b.c.d (SIIT), NAT64 64:ff9b::a.b.c.d and the local-use 64:ff9b:1::/48 (RFC 8215, every RFC 6052
     * position), 6to4 2002:aabb:ccdd::/48 and Teredo 2001:0::/32 (server in bytes 4-7, client in bytes 12-15 with
     * every bit inverted).
     */
    static List<Embedded> embeddedIPv4(byte[] a) {
        List<Embedded> found = new ArrayList<>();
        if (zero(a, 0, 12) && !(zero(a, 12, 15) && (a[15] == 0 || a[15] == 1))) {
            found.add(ipv4(a, new int[] {12, 13, 14, 15}, 0, "IPv4-compatible"));
        }
        if (zero(a, 0, 10) && a[10] == (byte) 0xff && a[11] == (byte) 0xff) {
            found.add(ipv4(a, new int[] {12, 13, 14, 15}, 0, "IPv4-mapped"));
        }
        if (zero(a, 0, 8) && a[8] == (byte) 0xff && a[9] == (byte) 0xff && a[10] == 0 && a[11] == 0) {
            found.add(ipv4(a, new int[] {12, 13, 14, 15}, 0, "IPv4-translated"));
        }
        if (Arrays.equals(a, 0, 12, NAT64_PREFIX, 0, 12)) {
            found.add(ipv4(a, new int[] {12, 13, 14, 15}, 0, "NAT64 64:ff9b::/96"));
        }
        if (Arrays.equals(a, 0, 6, NAT64_LOCAL_PREFIX, 0, 6)) {
            for (int[] positions : NAT64_LOCAL_POSITIONS) {
                found.add(ipv4(a, positions, 0, "NAT64 64:ff9b:1::/48"));
            }
        }
        if (a[0] == 0x20 && a[1] == 0x02) {
            found.add(ipv4(a, new int[] {2, 3, 4, 5}, 0, "6to4 2002::/16"));
        }
        if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
            found.add(ipv4(a, new int[] {4, 5, 6, 7}, 0, "Teredo server"));
            found.add(ipv4(a, new int[] {12, 13, 14, 15}, 0xff, "Teredo client"));
        }
        return found;
    }

    private static boolean zero(byte[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static Embedded ipv4(byte[] a, int[] positions, int xor, String form) {
        byte[] v4 = new byte[4];
        for (int i = 0; i < 4; i++) {
            v4[i] = (byte) (a[positions[i]] ^ xor);
        }
        try {
            return new Embedded(InetAddress.getByAddress(v4), form);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // four bytes are always an address
        }
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
