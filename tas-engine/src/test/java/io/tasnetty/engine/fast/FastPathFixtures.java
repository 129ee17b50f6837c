package io.tasnetty.engine.fast;

import io.tasnetty.engine.cc.TasDctcpWindow;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.port.PacketBuffer;

import java.lang.foreign.MemorySegment;

/** What tests and benchmarks that drive one {@link TasFastPath} alone (no engine around it) share. */
final class FastPathFixtures {
    static final int ISS = 1_000_000;
    static final int IRS = 2_000_000;

    private FastPathFixtures() {
    }

    /**
     * An ESTABLISHED flow from {@code localIp}:80 to {@code remoteIp}:40000 on queue
     * {@code queue}, nothing in flight, the peer's window 65535 unscaled, congestion control
     * dctcp-win initialised; callers adjust options (scaling, timestamps, SACK) afterwards.
     */
    static TasFlow establishedFlow(MemorySegment rxRing, MemorySegment txRing, int localIp, int remoteIp,
                                   long remoteMac, int queue, int mss, long rtoNanos, long now) {
        TasFlow f = new TasFlow();
        f.rx = new TasByteRing(rxRing);
        f.tx = new TasByteRing(txRing);
        f.localIp = localIp;
        f.localPort = 80;
        f.remoteIp = remoteIp;
        f.remotePort = 40000;
        f.remoteMac = remoteMac;
        f.queue = queue;
        f.state(TcpState.ESTABLISHED);
        f.iss(ISS);
        f.irs(IRS);
        f.sndUna(ISS + 1);
        f.sndNxt(ISS + 1);
        f.sndMax(ISS + 1);
        f.rcvNxt(IRS + 1);
        f.sndWnd(65535);
        f.sndWl1(IRS);
        f.sndWl2(ISS + 1);
        f.mss(mss);
        f.rtoNanos(rtoNanos);
        new TasDctcpWindow(0.0625).init(f, now);
        return f;
    }

    /**
     * The rest of the engine for a fast path on its own: no slow path (exceptions are refused
     * unless a subclass takes them), no loopback, nothing to reclaim.
     */
    static class LoneEngine implements TasFastPath.Engine {
        private final int localIp;

        LoneEngine(int localIp) {
            this.localIp = localIp;
        }

        @Override
        public boolean exception(PacketBuffer buf) {
            return false; // the fast path counts DROP_EXCEPTION_QUEUE_FULL and frees the buffer
        }

        @Override
        public void flowDead(TasFlow f) {
        }

        @Override
        public TasFastPath loopbackTarget(int srcIp, int srcPort, int dstIp, int dstPort) {
            throw new IllegalStateException("no loopback with a lone fast path");
        }

        @Override
        public boolean isLocal(int ip) {
            return ip == localIp;
        }

        @Override
        public void engineDoneWithRings(TasFlow f) {
        }

        @Override
        public void forgetUnaccepted(TasFlow f) {
        }
    }
}
