package io.tasnetty.engine.port.dpdk;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/**
 * DPDK through {@code libtasshim}: availability, the one EAL of this process, and device lookup.
 *
 * <p>The shim is a resource of the {@code native-shim} jar ({@value #RESOURCE}); it is there only
 * when DPDK was installed where the jar was built. The system property {@code tas.dpdk.shim} may
 * name a {@code libtasshim.so} file to load instead. Loading needs DPDK's run-time libraries
 * (Debian: {@code apt-get install dpdk}).
 *
 * <p>DPDK's Environment Abstraction Layer (EAL) can be initialized once per process and is never
 * torn down: {@link #initEal} is idempotent for the same arguments, refuses different ones, and
 * the EAL then lives as long as the JVM. Further devices can be hot-plugged afterwards with
 * {@link #attachDevice}.
 */
@SuppressWarnings("restricted") // loads libtasshim
public final class TasDpdk {
    static final String RESOURCE = "/native/linux-x86_64/libtasshim.so";
    /** System property: path of a {@code libtasshim.so} to load instead of the jar's. */
    public static final String SHIM_PATH_PROPERTY = "tas.dpdk.shim";
    /** The shim ABI this class binds to (tasshim.h, TAS_SHIM_ABI_VERSION). */
    static final int ABI_VERSION = 1;

    private static final SymbolLookup LOOKUP;
    private static final Throwable UNAVAILABILITY_CAUSE;

    static {
        SymbolLookup lookup = null;
        Throwable cause;
        try {
            lookup = load();
            cause = null;
        } catch (Throwable t) {
            cause = t;
        }
        LOOKUP = cause == null ? lookup : null;
        UNAVAILABILITY_CAUSE = cause;
    }

    private static List<String> ealArgs;
    private static IllegalStateException ealFailure;

    private TasDpdk() {
    }

    /** True when libtasshim (and so DPDK) can be used in this JVM. */
    public static boolean isAvailable() {
        return UNAVAILABILITY_CAUSE == null;
    }

    /** Why {@link #isAvailable()} is false (its message says what to install), or null. */
    public static Throwable unavailabilityCause() {
        return UNAVAILABILITY_CAUSE;
    }

    /** Throws {@link UnsatisfiedLinkError} naming the cause when DPDK is unavailable. */
    public static void ensureAvailability() {
        if (UNAVAILABILITY_CAUSE != null) {
            throw (UnsatisfiedLinkError) new UnsatisfiedLinkError(
                    "the DPDK port is unavailable: " + UNAVAILABILITY_CAUSE.getMessage()).initCause(UNAVAILABILITY_CAUSE);
        }
    }

    static SymbolLookup lookup() {
        ensureAvailability();
        return LOOKUP;
    }

    /**
     * Initializes DPDK's EAL with {@code args} (without a program name, e.g. {@code --no-huge -m 256
     * --no-pci -l 0 --file-prefix=x --vdev=net_ring0}). Does nothing when the EAL already runs with
     * the same arguments.
     *
     * @throws IllegalStateException when the EAL already runs with other arguments, when it failed
     *         to start (with DPDK's reason; it cannot be retried in this process)
     * @throws UnsatisfiedLinkError when DPDK is unavailable
     */
    public static synchronized void initEal(List<String> args) {
        ensureAvailability();
        List<String> wanted = List.copyOf(args);
        if (ealArgs != null) {
            if (ealArgs.equals(wanted)) {
                return;
            }
            throw new IllegalStateException("DPDK's EAL already runs in this JVM with " + ealArgs
                    + " and cannot be initialized again with " + wanted
                    + " (rte_eal_init works once per process): pass the same EAL arguments, or hot-plug"
                    + " further devices with TasDpdk.attachDevice");
        }
        if (ealFailure != null) {
            throw new IllegalStateException("DPDK's EAL failed to start earlier in this JVM and cannot be retried: "
                    + ealFailure.getMessage(), ealFailure);
        }
        // argv lives for the JVM's life: the EAL may keep pointers into it.
        Arena arena = Arena.global();
        MemorySegment argv = arena.allocate(ValueLayout.ADDRESS, wanted.size() + 2L);
        argv.setAtIndex(ValueLayout.ADDRESS, 0, arena.allocateFrom("tas-netty"));
        for (int i = 0; i < wanted.size(); i++) {
            argv.setAtIndex(ValueLayout.ADDRESS, i + 1, arena.allocateFrom(wanted.get(i)));
        }
        argv.setAtIndex(ValueLayout.ADDRESS, wanted.size() + 1, MemorySegment.NULL);
        int rc;
        try {
            rc = (int) DpdkShim.EAL_INIT.invokeExact(wanted.size() + 1, argv);
        } catch (Throwable t) {
            throw DpdkShim.rethrow(t);
        }
        if (rc < 0) {
            ealFailure = new IllegalStateException(DpdkShim.lastError() + "; EAL arguments " + wanted);
            throw ealFailure;
        }
        ealArgs = wanted;
    }

    /** Whether {@link #initEal} has succeeded in this JVM. */
    public static synchronized boolean isEalInitialized() {
        return ealArgs != null;
    }

    /** The arguments the EAL runs with, or null before {@link #initEal}. */
    public static synchronized List<String> ealArguments() {
        return ealArgs;
    }

    /**
     * Hot-plugs a device after EAL start, e.g. {@code net_ring1}, {@code net_af_packet1,iface=veth0}
     * or {@code net_tap1,iface=tas1}; returns its port id.
     */
    public static int attachDevice(String devargs) {
        requireEal();
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) DpdkShim.DEV_ATTACH.invokeExact(arena.allocateFrom(devargs));
            if (rc < 0) {
                throw new IllegalStateException(DpdkShim.lastError());
            }
            return rc;
        } catch (Throwable t) {
            throw DpdkShim.rethrow(t);
        }
    }

    /** The port id of the ethdev named {@code name} (a vdev's name, a PCI address), or -1. */
    public static int portIdByName(String name) {
        requireEal();
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) DpdkShim.PORT_BY_NAME.invokeExact(arena.allocateFrom(name));
            return rc < 0 ? -1 : rc;
        } catch (Throwable t) {
            throw DpdkShim.rethrow(t);
        }
    }

    /** Number of usable ethdev ports. */
    public static int portCount() {
        requireEal();
        try {
            return (int) DpdkShim.PORT_COUNT.invokeExact();
        } catch (Throwable t) {
            throw DpdkShim.rethrow(t);
        }
    }

    /**
     * Registers the calling thread with DPDK so it gets its own lcore id, and so its own mempool
     * cache (optional; unregistered threads use the pool's shared ring directly). Returns the id.
     */
    public static int registerCurrentThread() {
        requireEal();
        try {
            int rc = (int) DpdkShim.THREAD_REGISTER.invokeExact();
            if (rc < 0) {
                throw new IllegalStateException(DpdkShim.lastError());
            }
            return rc;
        } catch (Throwable t) {
            throw DpdkShim.rethrow(t);
        }
    }

    private static void requireEal() {
        if (!isEalInitialized()) {
            throw new IllegalStateException("DPDK's EAL is not initialized: call TasDpdk.initEal first");
        }
    }

    private static SymbolLookup load() throws IOException {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new UnsupportedOperationException("libtasshim is built for linux-x86_64 only; this JVM runs on "
                    + os + "/" + arch);
        }
        String override = System.getProperty(SHIM_PATH_PROPERTY);
        SymbolLookup lookup;
        if (override != null && !override.isBlank()) {
            lookup = open(Path.of(override), "libtasshim.so from -D" + SHIM_PATH_PROPERTY + "=" + override);
        } else {
            Path dir = Files.createTempDirectory("tasshim");
            Path file = dir.resolve("libtasshim.so");
            try (InputStream in = TasDpdk.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new UnsupportedOperationException("libtasshim.so not in the native-shim jar (DPDK was not"
                            + " installed at build time: apt-get install dpdk libdpdk-dev pkg-config, then rebuild)");
                }
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            }
            try {
                lookup = open(file, "libtasshim.so from the native-shim jar");
            } finally {
                // The loaded library stays mapped; the file is not needed any more.
                Files.deleteIfExists(file);
                Files.deleteIfExists(dir);
            }
        }
        int abi = abiVersion(lookup);
        if (abi != ABI_VERSION) {
            throw new UnsupportedOperationException("libtasshim ABI version " + abi + " does not match the engine's "
                    + ABI_VERSION + " (native-shim and tas-engine jars of different builds)");
        }
        return lookup;
    }

    private static SymbolLookup open(Path file, String what) {
        try {
            return SymbolLookup.libraryLookup(file, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new UnsupportedOperationException(what + " could not be loaded (" + e.getMessage()
                    + "): are DPDK 22.11's run-time libraries installed? apt-get install dpdk", e);
        }
    }

    private static int abiVersion(SymbolLookup lookup) {
        MethodHandle abi = Linker.nativeLinker().downcallHandle(
                lookup.find("tas_shim_abi").orElseThrow(
                        () -> new UnsupportedOperationException("libtasshim has no tas_shim_abi symbol")),
                FunctionDescriptor.of(ValueLayout.JAVA_INT));
        try {
            return (int) abi.invokeExact();
        } catch (Throwable t) {
            // Not DpdkShim.rethrow: DpdkShim must not be initialized before this class is.
            throw new UnsupportedOperationException("libtasshim's tas_shim_abi failed", t);
        }
    }
}
