package io.tasnetty.engine;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.config.TasConfigException;
import io.tasnetty.engine.port.TapPort;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.port.TasWire;
import io.tasnetty.engine.port.dpdk.DpdkPort;
import io.tasnetty.engine.port.dpdk.TasDpdk;

/** Opens the port the {@code port} option names: {@code wire}, {@code tap:IFNAME} or {@code dpdk}. */
public final class TasPorts {
    /** The in-JVM wire every {@code port=wire} engine of this process attaches to. */
    private static final TasWire DEFAULT_WIRE = new TasWire();

    private TasPorts() {
    }

    /** The process-wide wire that {@code port=wire} engines share (so they can talk to each other). */
    public static TasWire defaultWire() {
        return DEFAULT_WIRE;
    }

    public static TasPort open(TasConfig c) {
        String spec = c.port();
        long mac = c.macAddress();
        int queues = c.fpCoresMax();
        if (spec.equals("wire")) {
            return DEFAULT_WIRE.attach(io.tasnetty.engine.wire.Ipv4.toString(c.ipAddr()), mac, queues,
                c.mtu(), 4096);
        }
        if (spec.startsWith("tap:")) {
            return TapPort.open(spec.substring(4), mac, c.mtu());
        }
        if (spec.equals("dpdk")) {
            return openDpdk(c, queues);
        }
        throw new TasConfigException("port", "option port: \"" + spec + "\" is not a port; expected wire, tap:IFNAME or dpdk");
    }

    private static TasPort openDpdk(TasConfig c, int queues) {
        if (!TasDpdk.isAvailable()) {
            throw new IllegalStateException("port=dpdk is unavailable: " + TasDpdk.unavailabilityCause().getMessage(),
                TasDpdk.unavailabilityCause());
        }
        return DpdkPort.open(c.dpdkExtra(), -1, queues, c.mtu(), c.fpNoXsumOffload(), c.fpNoInts());
    }
}
