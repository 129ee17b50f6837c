package io.tasnetty.engine.config;

/**
 * A static route (option {@code ip-route}, {@code D.D.D.D/P,N.N.N.N}): packets to
 * {@code dest/prefixLength} go to the next hop {@code nextHop}. Addresses are IPv4 in an int, the
 * first octet most significant (network order), e.g. 10.0.0.1 is {@code 0x0A000001}.
 */
public record TasRoute(int dest, int prefixLength, int nextHop) {

    public TasRoute {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is not 0..32");
        }
    }

    /** The netmask of {@link #prefixLength()}, e.g. 0xFFFFFF00 for /24. */
    public int netmask() {
        return Ipv4.netmask(prefixLength);
    }

    /** Whether {@code addr} lies inside {@code dest/prefixLength}. */
    public boolean matches(int addr) {
        int mask = netmask();
        return (addr & mask) == (dest & mask);
    }

    /** The route as option {@code ip-route} spells it, e.g. {@code 0.0.0.0/0,10.0.0.254}. */
    @Override
    public String toString() {
        return Ipv4.format(dest) + "/" + prefixLength + "," + Ipv4.format(nextHop);
    }
}
