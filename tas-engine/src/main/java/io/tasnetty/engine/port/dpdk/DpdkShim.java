package io.tasnetty.engine.port.dpdk;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The bindings to libtasshim (native-shim/src/main/c/tasshim.h), one {@code static final}
 * {@link MethodHandle} per function so the JIT links calls directly. Loaded only after
 * {@link TasDpdk#isAvailable()}. Struct offsets mirror tasshim.h, whose sizes the C side asserts.
 */
@SuppressWarnings("restricted") // binding native code is this class's purpose
final class DpdkShim {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP = TasDpdk.lookup();
    /** For downcalls that never block: no thread-state transition (about 4 ns per call). */
    private static final Linker.Option CRITICAL = Linker.Option.critical(false);

    // Setup, teardown, blocking.
    static final MethodHandle LAST_ERROR = bind("tas_last_error", FunctionDescriptor.of(ADDRESS));
    static final MethodHandle EAL_INIT = bind("tas_eal_init", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle THREAD_REGISTER = bind("tas_thread_register", FunctionDescriptor.of(JAVA_INT));
    static final MethodHandle PORT_COUNT = bind("tas_port_count", FunctionDescriptor.of(JAVA_INT));
    static final MethodHandle PORT_FIRST = bind("tas_port_first", FunctionDescriptor.of(JAVA_INT));
    static final MethodHandle PORT_BY_NAME = bind("tas_port_by_name", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle PORT_NAME = bind("tas_port_name",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle DEV_ATTACH = bind("tas_dev_attach", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle POOL_CREATE = bind("tas_pool_create",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle POOL_FREE = bind("tas_pool_free", FunctionDescriptor.ofVoid(ADDRESS));
    static final MethodHandle POOL_INFO = bind("tas_pool_info", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle POOL_OBJECTS = bind("tas_pool_objects",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    static final MethodHandle POOL_AVAIL = bind("tas_pool_avail", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle POOL_AUDIT = bind("tas_pool_audit",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
    static final MethodHandle PORT_SETUP = bind("tas_port_setup",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle PORT_CLOSE = bind("tas_port_close", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle PORT_STATS = bind("tas_port_stats", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle PORT_MULTISEG_DROPS = bind("tas_port_multiseg_drops",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
    static final MethodHandle PORT_RETA_SET = bind("tas_port_reta_set",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle PORT_RSS_KEY = bind("tas_port_rss_key",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle PORT_AWAIT = bind("tas_port_await",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle PORT_WAKEUP = bind("tas_port_wakeup", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle PORT_AF_PACKET_FD = bind("tas_port_af_packet_fd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle MBUF_OL_FLAGS = bind("tas_mbuf_ol_flags", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));

    // Data path: never blocks.
    static final MethodHandle RX_BURST = critical("tas_rx_burst",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    static final MethodHandle TX_BURST = critical("tas_tx_burst",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    static final MethodHandle ALLOC_BULK = critical("tas_alloc_bulk",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_INT));
    static final MethodHandle FREE_BULK = critical("tas_free_bulk", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
    static final MethodHandle FREE = critical("tas_free", FunctionDescriptor.ofVoid(JAVA_LONG));

    // struct tas_rx_meta (16 bytes)
    static final long RX_META_SIZE = 16;
    static final long RX_META_DATA_ADDR = 0;
    static final long RX_META_DATA_LEN = 8;
    static final long RX_META_FLAGS = 12;

    // struct tas_pool_info (40 bytes)
    static final long POOL_INFO_SIZE = 40;
    static final long POOL_REGION_BASE = 0;
    static final long POOL_REGION_LEN = 8;
    static final long POOL_CHUNKS = 16;
    static final long POOL_OBJ_STRIDE = 20;
    static final long POOL_BUF_OFFSET = 24;
    static final long POOL_BUF_LEN = 28;
    static final long POOL_HEADROOM = 32;
    static final long POOL_COUNT = 36;

    // struct tas_port_info (80 bytes)
    static final long PORT_INFO_SIZE = 80;
    static final long PORT_MAC = 0;
    static final long PORT_QUEUES = 8;
    static final long PORT_MTU = 12;
    static final long PORT_TX_CSUM = 16;
    static final long PORT_RX_CSUM = 20;
    static final long PORT_RETA_SIZE = 24;
    static final long PORT_RX_INTR = 28;
    static final long PORT_MAX_QUEUES = 32;
    static final long PORT_RSS_ENABLED = 36;
    static final long PORT_DRIVER = 40;
    static final long PORT_RSS_TCP_PORTS = 72;

    // struct tas_port_stats (8 longs)
    static final long STATS_SIZE = 64;

    // tas_port_setup flags
    static final int SETUP_XSUM_OFFLOAD = 1;
    static final int SETUP_RX_INTR = 1 << 1;

    // tx descriptor word
    static final int TXW_L2_SHIFT = 32;
    static final int TXW_L3_SHIFT = 39;
    static final int TXW_FLAG_SHIFT = 48;

    private DpdkShim() {
    }

    /** The shim's last error sentence for this thread. */
    static String lastError() {
        try {
            MemorySegment p = (MemorySegment) LAST_ERROR.invokeExact();
            return p.reinterpret(512).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }

    private static MethodHandle bind(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(find(name), fd);
    }

    private static MethodHandle critical(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(find(name), fd, CRITICAL);
    }

    private static MemorySegment find(String name) {
        return LOOKUP.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libtasshim has no symbol " + name));
    }
}
