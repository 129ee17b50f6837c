package io.tasnetty.engine.config;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The kinds of option values: sizes, numbers, durations, rates, addresses, names, ... */
final class OptionTypes {
    private OptionTypes() {
    }

    /** A value an option refuses; the message is the problem ("is not a size"), not the whole text. */
    static final class BadValue extends Exception {
        private static final long serialVersionUID = 1L;

        BadValue(String problem) {
            super(problem, null, false, false);
        }
    }

    /** A whole number in [min, max]; an Integer if {@code isInt}, else a Long. */
    static final class NumberType implements OptionType {
        private static final Pattern P = Pattern.compile("[-+]?\\d+");
        private final long min;
        private final long max;
        private final boolean isInt;
        private final String noun;
        private final String zeroMeans;

        /**
         * @param noun what the number counts, e.g. "a whole number", "bytes", "RTTs"
         * @param zeroMeans if not null, 0 is accepted outside [min, max] and means this
         */
        NumberType(long min, long max, boolean isInt, String noun, String zeroMeans) {
            this.min = min;
            this.max = max;
            this.isInt = isInt;
            this.noun = noun;
            this.zeroMeans = zeroMeans;
        }

        @Override
        public Object parse(String text) throws BadValue {
            if (!P.matcher(text).matches()) {
                throw new BadValue("is not a whole number");
            }
            BigInteger v = new BigInteger(text.startsWith("+") ? text.substring(1) : text);
            boolean zero = zeroMeans != null && v.signum() == 0;
            if (!zero && (v.compareTo(BigInteger.valueOf(min)) < 0 || v.compareTo(BigInteger.valueOf(max)) > 0)) {
                throw new BadValue("is out of range");
            }
            long l = v.longValue();
            return isInt ? (Object) (int) l : (Object) l;
        }

        @Override
        public String format(Object value) {
            return value.toString();
        }

        @Override
        public String accepts() {
            String range = min == Long.MIN_VALUE && max == Long.MAX_VALUE ? noun : noun + " from " + min + " to " + max;
            return zeroMeans == null ? range
                    : min == Long.MIN_VALUE ? range + " (0 = " + zeroMeans + ")" : "0 (" + zeroMeans + ") or " + range;
        }
    }

    /** A byte count in [min, max], optionally with a binary suffix k, m or g. An Integer. */
    /**
     * A size in bytes in [min, max]: a plain number, or with unit k, m or g (KiB, MiB, GiB). An
     * Integer, or a Long when max does not fit an int (shm-len).
     */
    static final class SizeType implements OptionType {
        private static final Pattern P = Pattern.compile("(\\d+)\\s*(k|kb|kib|m|mb|mib|g|gb|gib)?",
                Pattern.CASE_INSENSITIVE);
        private final long min;
        private final long max;
        private final String examples;

        SizeType(long min, long max, String examples) {
            this.min = min;
            this.max = max;
            this.examples = examples;
        }

        @Override
        public Object parse(String text) throws BadValue {
            Matcher m = P.matcher(text);
            if (!m.matches()) {
                throw new BadValue("is not a size");
            }
            BigInteger v = new BigInteger(m.group(1));
            String unit = m.group(2) == null ? "" : m.group(2).toLowerCase(Locale.ROOT);
            int shift = unit.isEmpty() ? 0 : switch (unit.charAt(0)) {
                case 'k' -> 10;
                case 'm' -> 20;
                default -> 30;
            };
            v = v.shiftLeft(shift);
            if (v.compareTo(BigInteger.valueOf(min)) < 0 || v.compareTo(BigInteger.valueOf(max)) > 0) {
                throw new BadValue(shift == 0 ? "is out of range" : "(" + v + " bytes) is out of range");
            }
            return max > Integer.MAX_VALUE ? (Object) v.longValue() : (Object) v.intValue();
        }

        @Override
        public String format(Object value) {
            return value.toString();
        }

        @Override
        public String accepts() {
            return "bytes from " + min + " to " + max + ", e.g. " + examples;
        }
    }

    /** A duration in microseconds in [min, max]; a plain number is µs, or with unit us, ms or s. A Long. */
    static final class MicrosType implements OptionType {
        private static final Pattern P = Pattern.compile("(\\d+)\\s*(us|µs|ms|s)?", Pattern.CASE_INSENSITIVE);
        private final long min;
        private final long max;
        private final String zeroMeans;

        MicrosType(long min, long max, String zeroMeans) {
            this.min = min;
            this.max = max;
            this.zeroMeans = zeroMeans;
        }

        @Override
        public Object parse(String text) throws BadValue {
            Matcher m = P.matcher(text);
            if (!m.matches()) {
                throw new BadValue("is not a duration");
            }
            BigInteger v = new BigInteger(m.group(1));
            String unit = m.group(2) == null ? "us" : m.group(2).toLowerCase(Locale.ROOT);
            if (unit.equals("ms")) {
                v = v.multiply(BigInteger.valueOf(1_000));
            } else if (unit.equals("s")) {
                v = v.multiply(BigInteger.valueOf(1_000_000));
            }
            if (v.compareTo(BigInteger.valueOf(min)) < 0 || v.compareTo(BigInteger.valueOf(max)) > 0) {
                throw new BadValue(m.group(2) == null || unit.equals("us") ? "is out of range"
                        : "(" + v + " µs) is out of range");
            }
            return v.longValue();
        }

        @Override
        public String format(Object value) {
            return value.toString();
        }

        @Override
        public String accepts() {
            String range = "microseconds from " + min + " to " + max;
            if (zeroMeans != null) {
                range += " (0 = " + zeroMeans + ")";
            }
            return range + ", or a whole number with unit us, ms or s, e.g. 250ms or 2s";
        }
    }

    /**
     * A rate stored in Mbps in [min, max]. A plain number is in the default unit (Mbps, or Gbps as
     * TAS's tcp-link-bw); "m"/"mbps" and "g"/"gbps" say the unit. Fractions are fine as long as the
     * result is whole Mbps. A Long.
     */
    static final class RateType implements OptionType {
        private static final Pattern P = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(m|mbps|mbit|g|gbps|gbit)?",
                Pattern.CASE_INSENSITIVE);
        private static final BigDecimal THOUSAND = BigDecimal.valueOf(1000);
        private final long min;
        private final long max;
        private final boolean gbps;
        private final String zeroMeans;

        RateType(long minMbps, long maxMbps, boolean defaultUnitGbps, String zeroMeans) {
            this.min = minMbps;
            this.max = maxMbps;
            this.gbps = defaultUnitGbps;
            this.zeroMeans = zeroMeans;
        }

        @Override
        public Object parse(String text) throws BadValue {
            Matcher m = P.matcher(text);
            if (!m.matches()) {
                throw new BadValue("is not a rate");
            }
            BigDecimal v = new BigDecimal(m.group(1));
            boolean inGbps = m.group(2) == null ? gbps : Character.toLowerCase(m.group(2).charAt(0)) == 'g';
            if (inGbps) {
                v = v.multiply(THOUSAND);
            }
            BigInteger mbps;
            try {
                mbps = v.toBigIntegerExact();
            } catch (ArithmeticException e) {
                throw new BadValue("is not a whole number of Mbps");
            }
            if (mbps.compareTo(BigInteger.valueOf(min)) < 0 || mbps.compareTo(BigInteger.valueOf(max)) > 0) {
                throw new BadValue("is out of range");
            }
            return mbps.longValue();
        }

        @Override
        public String format(Object value) {
            long mbps = (Long) value;
            return gbps ? BigDecimal.valueOf(mbps).divide(THOUSAND).stripTrailingZeros().toPlainString()
                    : Long.toString(mbps);
        }

        @Override
        public String accepts() {
            String range = gbps
                    ? "Gbps from " + format(min) + " to " + format(max) + " (fractions allowed)"
                    : "Mbps from " + min + " to " + max;
            if (zeroMeans != null) {
                range += " (0 = " + zeroMeans + ")";
            }
            return range + ", or with unit m (Mbps) or g (Gbps), e.g. " + (gbps ? "10, 2.5 or 500m" : "100, 500m or 2.5g");
        }
    }

    /** true/false, 1/0, yes/no, on/off; empty (a flag given alone) means true. A Boolean. */
    static final class BoolType implements OptionType {
        @Override
        public Object parse(String text) throws BadValue {
            return switch (text.toLowerCase(Locale.ROOT)) {
                case "", "true", "1", "yes", "on" -> Boolean.TRUE;
                case "false", "0", "no", "off" -> Boolean.FALSE;
                default -> throw new BadValue("is not a boolean");
            };
        }

        @Override
        public String format(Object value) {
            return value.toString();
        }

        @Override
        public String accepts() {
            return "true or false (also 1/0, yes/no, on/off; the option alone means true)";
        }
    }

    /** A decimal number or a fraction a/b, greater than {@code min} (exclusive) and at most {@code max}. */
    static final class FractionType implements OptionType {
        private static final Pattern DECIMAL = Pattern.compile("[-+]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][-+]?\\d+)?");
        private static final Pattern RATIO = Pattern.compile("(\\d+)\\s*/\\s*(\\d+)");
        private final double min;
        private final double max;
        private final String examples;

        FractionType(double minExclusive, double maxInclusive, String examples) {
            this.min = minExclusive;
            this.max = maxInclusive;
            this.examples = examples;
        }

        @Override
        public Object parse(String text) throws BadValue {
            double v;
            Matcher r = RATIO.matcher(text);
            if (r.matches()) {
                double den = new BigDecimal(r.group(2)).doubleValue();
                if (den == 0) {
                    throw new BadValue("divides by zero");
                }
                v = new BigDecimal(r.group(1)).doubleValue() / den;
            } else if (DECIMAL.matcher(text).matches()) {
                v = Double.parseDouble(text);
            } else {
                throw new BadValue("is not a number");
            }
            if (!(v > min && v <= max)) {
                throw new BadValue("is out of range");
            }
            return v;
        }

        @Override
        public String format(Object value) {
            return new BigDecimal(Double.toString((Double) value)).stripTrailingZeros().toPlainString();
        }

        @Override
        public String accepts() {
            return "a number greater than " + format(min) + " and at most " + format(max) + ", e.g. " + examples;
        }
    }

    /** Address and prefix length of the engine's own subnet, A.B.C.D/P. */
    record Cidr(int addr, int prefixLength) {
        @Override
        public String toString() {
            return Ipv4.format(addr) + "/" + prefixLength;
        }
    }

    static final class CidrType implements OptionType {
        @Override
        public Object parse(String text) throws BadValue {
            int slash = text.indexOf('/');
            if (slash < 0) {
                long a = Ipv4.parse(text);
                throw new BadValue(a < 0 ? "is not an IPv4 address with prefix length" : "has no prefix length");
            }
            long a = Ipv4.parse(text.substring(0, slash));
            int p = prefix(text.substring(slash + 1));
            if (a < 0 || p < 0) {
                throw new BadValue("is not an IPv4 address with prefix length");
            }
            int addr = (int) a;
            if (addr == 0) {
                throw new BadValue("is the unspecified address");
            }
            if (Ipv4.isMulticastOrBroadcast(addr)) {
                throw new BadValue("is not a unicast address");
            }
            if ((addr >>> 24) == 127) {
                throw new BadValue("is a loopback address (the engine loops 127.0.0.0/8 itself)");
            }
            return new Cidr(addr, p);
        }

        @Override
        public String format(Object value) {
            return value.toString();
        }

        @Override
        public String accepts() {
            return "a unicast IPv4 address and prefix length A.B.C.D/P, e.g. 10.0.0.1/24";
        }
    }

    /** A static route D.D.D.D/P,N.N.N.N; a {@link TasRoute}. */
    static final class RouteType implements OptionType {
        @Override
        public Object parse(String text) throws BadValue {
            int slash = text.indexOf('/');
            int comma = text.indexOf(',');
            if (slash < 0 || comma < slash) {
                throw new BadValue("is not a route");
            }
            long d = Ipv4.parse(text.substring(0, slash));
            int p = prefix(text.substring(slash + 1, comma).trim());
            long nh = Ipv4.parse(text.substring(comma + 1).trim());
            if (d < 0 || p < 0 || nh < 0) {
                throw new BadValue("is not a route");
            }
            int dest = (int) d;
            int mask = Ipv4.netmask(p);
            if ((dest & ~mask) != 0) {
                throw new BadValue("has host bits set in its destination (did you mean "
                        + new TasRoute(dest & mask, p, (int) nh) + "?)");
            }
            if (nh == 0 || Ipv4.isMulticastOrBroadcast((int) nh)) {
                throw new BadValue("has a next hop that is not a unicast address");
            }
            return new TasRoute(dest, p, (int) nh);
        }

        @Override
        public String format(Object value) {
            return value.toString();
        }

        @Override
        public String accepts() {
            return "destination/prefix and next hop D.D.D.D/P,N.N.N.N, e.g. 0.0.0.0/0,10.0.0.254";
        }
    }

    /** Whether {@code name} is a valid Linux interface name (1..15 bytes; no '/', ':' or whitespace). */
    static boolean isInterfaceName(String name) {
        if (name.isEmpty() || name.length() > 15 || name.equals(".") || name.equals("..")) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == ':' || c <= ' ' || c >= 0x7F) {
                return false;
            }
        }
        return true;
    }

    /** wire | tap:IFNAME | dpdk. The normalised text (a String). */
    static final class PortType implements OptionType {
        @Override
        public Object parse(String text) throws BadValue {
            String lower = text.toLowerCase(Locale.ROOT);
            if (lower.equals("wire") || lower.equals("dpdk")) {
                return lower;
            }
            if (lower.startsWith("tap:")) {
                String ifname = text.substring(4);
                if (ifname.isEmpty()) {
                    throw new BadValue("has no interface name after tap:");
                }
                if (!isInterfaceName(ifname)) {
                    throw new BadValue("has an invalid interface name (1 to 15 characters, no '/', ':' or spaces)");
                }
                return "tap:" + ifname;
            }
            if (lower.equals("tap")) {
                throw new BadValue("has no interface name (write tap:IFNAME)");
            }
            throw new BadValue("is not a port");
        }

        @Override
        public String format(Object value) {
            return (String) value;
        }

        @Override
        public String accepts() {
            return "wire, tap:IFNAME or dpdk, e.g. tap:tas0";
        }
    }

    /** "" or a unicast MAC address; the normalised text (lower case, colons). */
    static final class MacType implements OptionType {
        private static final Pattern P = Pattern.compile("\\p{XDigit}{2}([:-]\\p{XDigit}{2}){5}");

        @Override
        public Object parse(String text) throws BadValue {
            if (text.isEmpty()) {
                return "";
            }
            if (!P.matcher(text).matches()) {
                throw new BadValue("is not a MAC address");
            }
            String mac = text.toLowerCase(Locale.ROOT).replace('-', ':');
            if ((Integer.parseInt(mac.substring(0, 2), 16) & 1) != 0) {
                throw new BadValue("is a multicast address (the first octet is odd)");
            }
            if (mac.equals("00:00:00:00:00:00")) {
                throw new BadValue("is the all-zero address");
            }
            return mac;
        }

        @Override
        public String format(Object value) {
            return (String) value;
        }

        @Override
        public String accepts() {
            return "empty (derive 02:00:A:B:C:D from ip-addr A.B.C.D) or a unicast MAC address, e.g. 02:00:0a:00:00:01";
        }
    }

    /** A {@link TasCongestionControl}. */
    static final class CcType implements OptionType {
        @Override
        public Object parse(String text) throws BadValue {
            TasCongestionControl cc = TasCongestionControl.fromOptionValue(text);
            if (cc == null) {
                throw new BadValue("is not a congestion-control algorithm");
            }
            return cc;
        }

        @Override
        public String format(Object value) {
            return ((TasCongestionControl) value).optionValue();
        }

        @Override
        public String accepts() {
            StringBuilder sb = new StringBuilder();
            TasCongestionControl[] all = TasCongestionControl.values();
            for (int i = 0; i < all.length; i++) {
                sb.append(i == 0 ? "" : i == all.length - 1 ? " or " : ", ").append(all[i].optionValue());
            }
            return sb.toString();
        }
    }

    /** "" (none) or a Linux interface name. A String. */
    static final class InterfaceNameType implements OptionType {
        @Override
        public Object parse(String text) throws BadValue {
            if (!text.isEmpty() && !isInterfaceName(text)) {
                throw new BadValue("is not an interface name");
            }
            return text;
        }

        @Override
        public String format(Object value) {
            return (String) value;
        }

        @Override
        public String accepts() {
            return "empty (none) or an interface name of 1 to 15 characters without '/', ':' or spaces, e.g. tas0";
        }
    }

    /** "" or a directory path without whitespace. A String. */
    static final class DirectoryType implements OptionType {
        @Override
        public Object parse(String text) throws BadValue {
            if (text.chars().anyMatch(Character::isWhitespace)) {
                throw new BadValue("is not a directory path (no spaces)");
            }
            return text;
        }

        @Override
        public String format(Object value) {
            return (String) value;
        }

        @Override
        public String accepts() {
            return "empty (none) or a directory path, e.g. /run/tas";
        }
    }

    /** One EAL argument: non-empty, no whitespace. A String. */
    static final class EalArgType implements OptionType {
        @Override
        public Object parse(String text) throws BadValue {
            if (text.isEmpty()) {
                throw new BadValue("is empty");
            }
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c <= ' ' || c == 0x7F || Character.isWhitespace(c)) {
                    throw new BadValue("contains whitespace or a control character (give each EAL argument"
                            + " separately)");
                }
            }
            return text;
        }

        @Override
        public String format(Object value) {
            return (String) value;
        }

        @Override
        public String accepts() {
            return "one DPDK EAL argument, e.g. --vdev=net_af_packet0,iface=veth0 or --no-pci";
        }
    }

    /** A prefix length 0..32 as text, or -1. */
    static int prefix(String text) {
        if (text.isEmpty() || text.length() > 2) {
            return -1;
        }
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) < '0' || text.charAt(i) > '9') {
                return -1;
            }
        }
        int p = Integer.parseInt(text);
        return p <= 32 ? p : -1;
    }
}
