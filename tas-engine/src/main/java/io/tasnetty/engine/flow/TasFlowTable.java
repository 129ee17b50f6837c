package io.tasnetty.engine.flow;

import java.util.Arrays;

/**
 * Flows by 4-tuple: open addressing with linear probing over primitive arrays, owned by one thread
 * (each fast-path agent has its own). Keys are two longs (the local and remote address/port
 * pairs); values are objects. Deletion shifts later entries back, so no tombstones accumulate.
 * Grows by doubling when 5/8 full; lookups allocate nothing.
 *
 * <p>The hash is keyed with a secret chosen per table: with a fixed hash, a remote host could pick
 * source ports whose tuples share one probe run and make every lookup a long scan (hash flooding).
 */
public final class TasFlowTable<V> {
    private long[] keyA;
    private long[] keyB;
    private Object[] values;
    private int mask;
    private int size;
    private int resizeAt;
    private final long k0;
    private final long k1;

    public TasFlowTable(int initialCapacity) {
        java.security.SecureRandom r = new java.security.SecureRandom();
        k0 = r.nextLong();
        k1 = r.nextLong() | 1;
        int cap = Integer.highestOneBit(Math.max(16, initialCapacity) - 1) << 1;
        alloc(cap);
    }

    private void alloc(int cap) {
        keyA = new long[cap];
        keyB = new long[cap];
        values = new Object[cap];
        mask = cap - 1;
        resizeAt = cap / 8 * 5;
    }

    /** Packs one endpoint pair: IPv4 address in the high half, port in the low 16 bits. */
    public static long endpoint(int ip, int port) {
        return ((long) ip << 32) | (port & 0xFFFFL);
    }

    private int hash(long a, long b) {
        // The key enters before the multiplications and the final mix, so which tuples collide
        // depends on it.
        long h = (a ^ k0) * 0x9E3779B97F4A7C15L ^ Long.rotateLeft((b + k1) * 0xC2B2AE3D27D4EB4FL, 31);
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        return (int) (h ^ (h >>> 32));
    }

    public int size() {
        return size;
    }

    @SuppressWarnings("unchecked")
    public V get(int localIp, int localPort, int remoteIp, int remotePort) {
        long a = endpoint(localIp, localPort);
        long b = endpoint(remoteIp, remotePort);
        Object[] vals = values;
        int m = mask;
        for (int i = hash(a, b) & m; ; i = (i + 1) & m) {
            Object v = vals[i];
            if (v == null) {
                return null;
            }
            if (keyA[i] == a && keyB[i] == b) {
                return (V) v;
            }
        }
    }

    /** Inserts or replaces; returns the previous value. */
    @SuppressWarnings("unchecked")
    public V put(int localIp, int localPort, int remoteIp, int remotePort, V value) {
        if (value == null) {
            throw new IllegalArgumentException("null value");
        }
        if (size >= resizeAt) {
            grow();
        }
        long a = endpoint(localIp, localPort);
        long b = endpoint(remoteIp, remotePort);
        for (int i = hash(a, b) & mask; ; i = (i + 1) & mask) {
            Object v = values[i];
            if (v == null) {
                keyA[i] = a;
                keyB[i] = b;
                values[i] = value;
                size++;
                return null;
            }
            if (keyA[i] == a && keyB[i] == b) {
                values[i] = value;
                return (V) v;
            }
        }
    }

    /** Removes the entry if present; returns it. */
    @SuppressWarnings("unchecked")
    public V remove(int localIp, int localPort, int remoteIp, int remotePort) {
        long a = endpoint(localIp, localPort);
        long b = endpoint(remoteIp, remotePort);
        int i = hash(a, b) & mask;
        while (true) {
            Object v = values[i];
            if (v == null) {
                return null;
            }
            if (keyA[i] == a && keyB[i] == b) {
                deleteAt(i);
                size--;
                return (V) v;
            }
            i = (i + 1) & mask;
        }
    }

    /** Backward-shift deletion (Knuth 6.4 Algorithm R): keeps probe chains intact without tombstones. */
    private void deleteAt(int hole) {
        int i = hole;
        while (true) {
            i = (i + 1) & mask;
            Object v = values[i];
            if (v == null) {
                break;
            }
            int home = hash(keyA[i], keyB[i]) & mask;
            // Move entry i into the hole unless its home lies cyclically in (hole, i].
            boolean stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
            if (!stays) {
                keyA[hole] = keyA[i];
                keyB[hole] = keyB[i];
                values[hole] = v;
                hole = i;
            }
        }
        values[hole] = null;
        keyA[hole] = 0;
        keyB[hole] = 0;
    }

    private void grow() {
        long[] oa = keyA;
        long[] ob = keyB;
        Object[] ov = values;
        alloc(ov.length * 2);
        for (int j = 0; j < ov.length; j++) {
            if (ov[j] != null) {
                for (int i = hash(oa[j], ob[j]) & mask; ; i = (i + 1) & mask) {
                    if (values[i] == null) {
                        keyA[i] = oa[j];
                        keyB[i] = ob[j];
                        values[i] = ov[j];
                        break;
                    }
                }
            }
        }
    }

    /** Calls {@code action} for every value (not for hot paths). */
    @SuppressWarnings("unchecked")
    public void forEach(java.util.function.Consumer<V> action) {
        for (Object v : Arrays.copyOf(values, values.length)) {
            if (v != null) {
                action.accept((V) v);
            }
        }
    }
}
