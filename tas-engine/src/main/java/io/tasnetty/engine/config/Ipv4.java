package io.tasnetty.engine.config;

/** Dotted-quad IPv4 text to and from an int (first octet most significant). */
final class Ipv4 {
    private Ipv4() {
    }

    /** The address {@code text} ("A.B.C.D", decimal octets 0..255), or -1 if it is not one. */
    static long parse(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return -1;
        }
        long addr = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3) {
                return -1;
            }
            int octet = 0;
            for (int i = 0; i < p.length(); i++) {
                char c = p.charAt(i);
                if (c < '0' || c > '9') {
                    return -1;
                }
                octet = octet * 10 + (c - '0');
            }
            if (octet > 255) {
                return -1;
            }
            addr = (addr << 8) | octet;
        }
        return addr;
    }

    static String format(int addr) {
        return (addr >>> 24) + "." + ((addr >>> 16) & 0xFF) + "." + ((addr >>> 8) & 0xFF) + "." + (addr & 0xFF);
    }

    static int netmask(int prefixLength) {
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }

    /** Whether {@code addr} is a multicast (224.0.0.0/4) or the limited broadcast address. */
    static boolean isMulticastOrBroadcast(int addr) {
        return (addr >>> 28) == 0xE || addr == -1;
    }
}
