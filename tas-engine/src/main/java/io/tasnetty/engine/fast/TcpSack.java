package io.tasnetty.engine.fast;

import static io.tasnetty.engine.flow.TasSeq.gt;
import static io.tasnetty.engine.flow.TasSeq.le;
import static io.tasnetty.engine.flow.TasSeq.lt;

import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.engine.wire.TcpOptions;

/**
 * The sender's SACK scoreboard (RFC 2018, RFC 6675 2): which bytes above SND.UNA the peer holds,
 * as at most {@link TasFlow#SACKED_MAX} disjoint ranges in sequence order, kept in the flow. Loss
 * recovery retransmits the holes between them; blocks at or below SND.UNA are D-SACKs (RFC 2883),
 * which report a segment that arrived twice: a retransmission that was not needed.
 *
 * <p>Ranges are handled as offsets from SND.UNA, so sequence wrap needs no care here. One instance
 * per fast path; its scratch arrays make updates allocation-free.
 */
final class TcpSack {
    private final int[] lo = new int[TasFlow.SACKED_MAX + TcpOptions.MAX_SACK_BLOCKS];
    private final int[] hi = new int[TasFlow.SACKED_MAX + TcpOptions.MAX_SACK_BLOCKS];
    private final TasCounters counters;

    TcpSack(TasCounters counters) {
        this.counters = counters;
    }

    /**
     * Merges the peer's blocks into {@code f}'s scoreboard (SND.UNA already advanced by this ACK);
     * returns how many bytes became newly SACKed.
     */
    int update(TasFlow f, TcpOptions opts) {
        int una = f.sndUna();
        int max = f.sndMax();
        int n = 0;
        int before = 0;
        int[] a = f.sacked;
        for (int i = 0; i < f.sackedCount; i++) {
            int l = a[2 * i];
            int r = a[2 * i + 1];
            if (le(r, una)) {
                continue; // acknowledged meanwhile
            }
            lo[n] = lt(l, una) ? 0 : l - una;
            hi[n] = r - una;
            before += hi[n] - lo[n];
            n++;
        }
        for (int b = 0; b < opts.sackBlocks; b++) {
            int l = opts.sackLeft[b];
            int r = opts.sackRight[b];
            if (!lt(l, r) || gt(r, max)) {
                continue; // empty, reversed, or beyond what we sent: not a block we can use
            }
            if (le(r, una) || (b == 0 && opts.sackBlocks > 1 && !lt(l, opts.sackLeft[1])
                && !gt(r, opts.sackRight[1]))) {
                // RFC 2883: a first block at or below the cumulative ACK, or inside the second
                // block, reports a duplicate segment.
                counters.increment(TasCounter.TCP_DSACKS_RECEIVED);
                dsack(f, l, r);
                continue;
            }
            lo[n] = lt(l, una) ? 0 : l - una;
            hi[n] = r - una;
            n++;
        }
        n = sortAndMerge(n);
        int after = 0;
        int keep = Math.min(n, TasFlow.SACKED_MAX);
        if (2 * keep > a.length) {
            a = new int[2 * TasFlow.SACKED_MAX]; // once per flow: more ranges than it started with room for
            f.sacked = a;
        }
        for (int i = 0; i < keep; i++) {
            a[2 * i] = una + lo[i];
            a[2 * i + 1] = una + hi[i];
            after += hi[i] - lo[i];
        }
        f.sackedCount = keep;
        return Math.max(0, after - before);
    }

    /**
     * Opens an undo episode at a loss response (fast retransmit, SACK recovery, RTO), before the
     * window is cut: remembers the window to go back to. A new recovery always starts a new
     * episode (Linux's tcp_enter_recovery); a response that {@code continues} one (a timeout
     * during recovery or after another timeout) keeps the first one's window (tcp_enter_loss).
     */
    static void beginUndoEpisode(TasFlow f, boolean continues) {
        if (continues && f.undoRetrans >= 0) {
            return;
        }
        // Retransmissions of an earlier episode (and a tail loss probe) still in flight count
        // too, as Linux's tcp_init_undo starts from retrans_out: their D-SACKs must not pass for
        // this episode's. Counted from HighRxt, SACKed parts included: at worst no undo.
        int una = f.sndUna();
        int mss = Math.max(1, f.mss());
        int earlier = gt(f.highRxt, una) && !gt(f.highRxt, f.sndMax()) ? (f.highRxt - una + mss - 1) / mss : 0;
        f.undoRetrans = earlier + (f.tlpOut ? 1 : 0);
        f.undoUnmatchable = f.undoRetrans > 0;
        f.undoSeqCount = 0;
        f.undoMarker = una;
        f.priorCwnd = f.cwnd();
        f.priorSsthresh = f.ssthresh();
    }

    /** One more retransmission, of the segment at {@code seq}, in the open undo episode, if any. */
    static void retransmitted(TasFlow f, int seq) {
        if (f.undoRetrans < 0) {
            return;
        }
        f.undoRetrans++;
        if (f.undoSeqCount < f.undoSeqs.length) {
            f.undoSeqs[f.undoSeqCount++] = seq;
        } else {
            f.undoUnmatchable = true;
        }
    }

    /**
     * A D-SACK for [l, r): if it reports a segment retransmitted in the open episode, one fewer
     * retransmission is unexplained. When none is left, every retransmission reached a peer that
     * already had the data (reordering or a delayed ACK, not loss): the window cut is undone
     * (RFC 3708 3; Linux's tcp_try_undo_dsack, which also keeps the larger of the two windows).
     */
    private void dsack(TasFlow f, int l, int r) {
        // Only a block that begins where one of the episode's copies began reports that copy;
        // anything else is a duplicate the network made, or a copy of another episode. One copy
        // per block, whatever its length (a receiver may coalesce duplicates): at worst an undo
        // is missed, never one paid for by a copy that was needed.
        if (f.undoRetrans <= 0 || !gt(r, f.undoMarker)) {
            return;
        }
        int i = 0;
        while (i < f.undoSeqCount && f.undoSeqs[i] != l) {
            i++;
        }
        if (i == f.undoSeqCount) {
            return;
        }
        f.undoSeqs[i] = f.undoSeqs[--f.undoSeqCount];
        f.undoRetrans--;
        if (f.undoRetrans == 0 && !f.undoUnmatchable) {
            f.undoRetrans = -1;
            f.cwnd(Math.max(f.cwnd(), f.priorCwnd));
            if (f.priorSsthresh > f.ssthresh()) {
                f.ssthresh(f.priorSsthresh);
            }
            counters.increment(TasCounter.TCP_SPURIOUS_RETRANSMIT_UNDOS);
        }
    }

    /**
     * Insertion sort by start (the scoreboard's ranges come sorted, a few new blocks do not), then
     * coalesces overlapping or touching ranges.
     */
    private int sortAndMerge(int n) {
        for (int i = 1; i < n; i++) {
            int l = lo[i];
            int h = hi[i];
            int j = i - 1;
            while (j >= 0 && lo[j] > l) {
                lo[j + 1] = lo[j];
                hi[j + 1] = hi[j];
                j--;
            }
            lo[j + 1] = l;
            hi[j + 1] = h;
        }
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (m > 0 && lo[i] <= hi[m - 1]) {
                hi[m - 1] = Math.max(hi[m - 1], hi[i]);
            } else {
                lo[m] = lo[i];
                hi[m] = hi[i];
                m++;
            }
        }
        return m;
    }

    /** Forgets ranges SND.UNA has passed (cheap when the scoreboard is empty, as it nearly always is). */
    static void prune(TasFlow f) {
        int n = f.sackedCount;
        if (n == 0) {
            return;
        }
        int una = f.sndUna();
        int[] a = f.sacked;
        int m = 0;
        for (int i = 0; i < n; i++) {
            int l = a[2 * i];
            int r = a[2 * i + 1];
            if (le(r, una)) {
                continue;
            }
            a[2 * m] = lt(l, una) ? una : l;
            a[2 * m + 1] = r;
            m++;
        }
        f.sackedCount = m;
    }

    /** Bytes the peer holds above SND.UNA, as far as the scoreboard knows. */
    static int sackedBytes(TasFlow f) {
        int sum = 0;
        for (int i = 0; i < f.sackedCount; i++) {
            sum += f.sacked[2 * i + 1] - f.sacked[2 * i];
        }
        return sum;
    }

    /** RFC 2018 8: after a retransmission timeout the peer may have reneged; assume nothing. */
    static void clear(TasFlow f) {
        f.sackedCount = 0;
    }
}
