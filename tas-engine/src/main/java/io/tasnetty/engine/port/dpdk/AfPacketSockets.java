package io.tasnetty.engine.port.dpdk;

import io.tasnetty.engine.port.LinuxNative;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToIntFunction;

/**
 * Finds the kernel sockets that DPDK's {@code net_af_packet} PMD reads, so that an idle
 * {@link DpdkPort} can sleep in {@code poll(2)} on them instead of napping (the PMD has no rx
 * interrupts, and does not tell its file descriptors).
 *
 * <h2>What the PMD does (drivers/net/af_packet, DPDK 22.11)</h2>
 * When the device is probed (in {@code rte_eal_init} for a {@code --vdev} argument, in
 * {@code rte_dev_probe} for a hot-plugged one) it opens one {@code AF_PACKET} socket per queue pair,
 * queue 0 first, one after the other from one thread, gives each an mmap'ed
 * {@code PACKET_RX_RING}/{@code PACKET_TX_RING}, binds it to the interface ({@code sll_ifindex})
 * and, with several queues, joins them to one {@code PACKET_FANOUT_HASH} group. Configure and start
 * open nothing; {@code rte_eth_dev_stop} closes them. {@code poll} on such a socket reports
 * {@code POLLIN} while the ring holds a frame for user space.
 *
 * <h2>How the sockets are found</h2>
 * The process's sockets are listed ({@code /proc/self/fd} links {@code socket:[inode]}, then
 * {@code getsockname}) right before and right after the probe. A device's candidates are those that
 * appeared during its probe, are {@code AF_PACKET} and are bound to its interface's index; which
 * queue reads which of them is the PMD's to tell ({@link #inQueueOrder}, from the fd in its queue
 * data). Their fd numbers do not tell: {@code socket()} returns the lowest free descriptor, and any
 * other thread that closes one during the probe (the JDK's process reaper closing a finished
 * child's pipes, say) hands a later queue a lower number than an earlier one. Sleeping on swapped
 * sockets leaves a queue's frames unread until the other queue's socket wakes it or the wait times
 * out. Diffing around the probe, rather than taking every socket bound to the interface, keeps out
 * sockets the application opened itself and those of ports probed earlier. Any doubt (a count that
 * does not match the devices' {@code qpairs}, a device probed outside {@link DpdkPort#open} and
 * {@link DpdkPort#attach}, a PMD fd that is not a candidate) leaves the device without sockets, and
 * the port naps as before.
 */
final class AfPacketSockets {
    /** One AF_PACKET socket of this process. */
    record Sock(int fd, long inode, int ifindex) {
    }

    /** An af_packet device from its devargs ({@code net_af_packet0,iface=veth0,qpairs=2}); qpairs -1 if unreadable. */
    record Vdev(String name, String iface, int qpairs) {
        /** The af_packet device {@code devargs} names, or null for another driver. */
        static Vdev parse(String devargs) {
            String[] parts = devargs.split(",");
            String name = parts[0].trim();
            if (!name.startsWith("net_af_packet") && !name.startsWith("eth_af_packet")) {
                return null;
            }
            String iface = null;
            int qpairs = 1;
            for (int i = 1; i < parts.length; i++) {
                String kv = parts[i].trim();
                if (kv.startsWith("iface=")) {
                    iface = kv.substring(6);
                } else if (kv.startsWith("qpairs=")) {
                    try {
                        qpairs = Integer.parseInt(kv.substring(7));
                    } catch (NumberFormatException e) {
                        qpairs = -1;
                    }
                }
            }
            return new Vdev(name, iface, qpairs);
        }
    }

    /** A device's sockets (candidates from the probe, or in queue order), or why there are none. */
    record Discovery(List<Sock> sockets, String failure) {
        static Discovery failed(String why) {
            return new Discovery(List.of(), why);
        }
    }

    /** By ethdev port id: what the probe that created the port found. */
    private static final Map<Integer, Discovery> BY_PORT = new ConcurrentHashMap<>();

    private AfPacketSockets() {
    }

    /**
     * {@link TasDpdk#initEal}, recording the sockets of the af_packet devices among the
     * {@code --vdev} arguments when this call is the one that starts the EAL (and so probes them).
     */
    static void initEal(List<String> ealArgs) {
        // TasDpdk's own lock: no other initEal can start the EAL between the check and the snapshot.
        synchronized (TasDpdk.class) {
            List<Vdev> vdevs = TasDpdk.isEalInitialized() ? List.of() : vdevs(ealArgs);
            if (vdevs.isEmpty()) {
                TasDpdk.initEal(ealArgs);
                return;
            }
            Set<Long> before = inodes(scan());
            TasDpdk.initEal(ealArgs);
            record(before, vdevs, v -> TasDpdk.portIdByName(v.name()));
        }
    }

    /** {@link TasDpdk#attachDevice}, recording the device's sockets if it is an af_packet one. */
    static int attach(String devargs) {
        Vdev v = Vdev.parse(devargs);
        if (v == null) {
            return TasDpdk.attachDevice(devargs);
        }
        // One probe at a time, or two attaches on one interface would each see the other's sockets.
        synchronized (TasDpdk.class) {
            Set<Long> before = inodes(scan());
            int id = TasDpdk.attachDevice(devargs);
            record(before, List.of(v), d -> id);
            return id;
        }
    }

    /** What the probe of port {@code portId} found (failure when it was not seen). */
    static Discovery forPort(int portId) {
        Discovery d = BY_PORT.get(portId);
        return d != null ? d : Discovery.failed("the device was not probed by DpdkPort.open or DpdkPort.attach"
                + " (the EAL was started by TasDpdk.initEal directly), so its sockets cannot be told from others");
    }

    /** The port is closed: the PMD closed its sockets, and the fds may be reused. */
    static void forget(int portId) {
        BY_PORT.remove(portId);
    }

    private static void record(Set<Long> before, List<Vdev> vdevs, ToIntFunction<Vdev> portIdOf) {
        Map<Vdev, Discovery> found = assign(before, scan(), vdevs, v -> v.iface() == null ? 0
                : LinuxNative.ifNameToIndex(v.iface()));
        found.forEach((v, d) -> {
            int id = portIdOf.applyAsInt(v);
            if (id >= 0) {
                BY_PORT.put(id, d);
            }
        });
    }

    /**
     * Gives each device the sockets among those in {@code after} that were not there before and are
     * bound to its interface: all of them, when several devices share the interface (which queue of
     * which device reads which socket is {@link #inQueueOrder}'s to tell). A device whose
     * interface's new sockets do not number exactly the {@code qpairs} of the devices on it gets none.
     */
    static Map<Vdev, Discovery> assign(Set<Long> inodesBefore, List<Sock> after, List<Vdev> vdevs,
                                       ToIntFunction<Vdev> ifindexOf) {
        Map<Integer, List<Sock>> fresh = new LinkedHashMap<>();
        after.stream().filter(s -> !inodesBefore.contains(s.inode()))
                .sorted((a, b) -> Integer.compare(a.fd(), b.fd()))
                .forEach(s -> fresh.computeIfAbsent(s.ifindex(), k -> new ArrayList<>()).add(s));
        Map<Vdev, Integer> ifindex = new LinkedHashMap<>();
        Map<Integer, Integer> wanted = new LinkedHashMap<>();
        for (Vdev v : vdevs) {
            int idx = v.qpairs() < 1 ? 0 : ifindexOf.applyAsInt(v);
            ifindex.put(v, idx);
            if (idx > 0) {
                wanted.merge(idx, v.qpairs(), Integer::sum);
            }
        }
        Map<Vdev, Discovery> result = new LinkedHashMap<>();
        for (Vdev v : vdevs) {
            int idx = ifindex.get(v);
            if (v.qpairs() < 1) {
                result.put(v, Discovery.failed(v.name() + ": qpairs is not a positive number"));
                continue;
            }
            if (idx <= 0) {
                result.put(v, Discovery.failed(v.name() + ": no interface " + v.iface() + " in this namespace"));
                continue;
            }
            List<Sock> mine = fresh.getOrDefault(idx, List.of());
            if (mine.size() != wanted.get(idx)) {
                result.put(v, Discovery.failed(v.name() + ": " + mine.size() + " AF_PACKET sockets on " + v.iface()
                        + " (ifindex " + idx + ") appeared while probing, expected " + wanted.get(idx)));
                continue;
            }
            result.put(v, new Discovery(List.copyOf(mine), null));
        }
        return result;
    }

    /**
     * The candidates in queue order: queue q's is the one whose fd is {@code pmdFds[q]}, the fd the
     * PMD's own queue data holds. Fails when a queue's fd is no candidate or two queues name one.
     */
    static Discovery inQueueOrder(List<Sock> candidates, int[] pmdFds) {
        List<Sock> out = new ArrayList<>();
        for (int q = 0; q < pmdFds.length; q++) {
            int fd = pmdFds[q];
            Sock s = candidates.stream().filter(c -> c.fd() == fd).findFirst().orElse(null);
            if (s == null) {
                return Discovery.failed("queue " + q + " reads fd " + fd + ", which is none of the sockets its probe"
                        + " opened " + candidates);
            }
            if (out.contains(s)) {
                return Discovery.failed("queues " + out.indexOf(s) + " and " + q + " both read fd " + fd);
            }
            out.add(s);
        }
        return new Discovery(List.copyOf(out), null);
    }

    /** The af_packet devices among {@code --vdev} EAL arguments, in command-line (probe) order. */
    static List<Vdev> vdevs(List<String> ealArgs) {
        List<Vdev> out = new ArrayList<>();
        for (int i = 0; i < ealArgs.size(); i++) {
            String a = ealArgs.get(i);
            String devargs = a.startsWith("--vdev=") ? a.substring(7)
                    : a.equals("--vdev") && i + 1 < ealArgs.size() ? ealArgs.get(++i) : null;
            Vdev v = devargs == null ? null : Vdev.parse(devargs);
            if (v != null) {
                out.add(v);
            }
        }
        return out;
    }

    /** Every AF_PACKET socket of this process, by fd. */
    static List<Sock> scan() {
        List<Sock> out = new ArrayList<>();
        try (Arena arena = Arena.ofConfined();
             DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            MemorySegment scratch = arena.allocate(LinuxNative.SOCKNAME_SCRATCH_SIZE, 8);
            for (Path p : fds) {
                int fd = Integer.parseInt(p.getFileName().toString());
                long inode = socketInode(fd);
                if (inode < 0) {
                    continue;
                }
                long fam = LinuxNative.socketFamilyAndIfindex(fd, scratch);
                // Read the link again: the fd may have been closed and reused meanwhile.
                if (fam >>> 32 == LinuxNative.AF_PACKET && socketInode(fd) == inode) {
                    out.add(new Sock(fd, inode, (int) fam));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list /proc/self/fd", e);
        }
        out.sort((a, b) -> Integer.compare(a.fd(), b.fd()));
        return out;
    }

    /** Whether {@code s.fd()} still holds that socket (the PMD closes its sockets at stop). */
    static boolean stillOpen(Sock s) {
        return socketInode(s.fd()) == s.inode();
    }

    /** The inode of the socket {@code fd} refers to, or -1 when it is no socket (or closed). */
    static long socketInode(int fd) {
        String link;
        try {
            link = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
        if (!link.startsWith("socket:[") || !link.endsWith("]")) {
            return -1;
        }
        try {
            return Long.parseLong(link, 8, link.length() - 1, 10);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Set<Long> inodes(List<Sock> socks) {
        Set<Long> s = new HashSet<>();
        socks.forEach(k -> s.add(k.inode()));
        return s;
    }
}
