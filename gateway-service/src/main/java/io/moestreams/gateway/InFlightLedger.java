package io.moestreams.gateway;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Tokens dispatched to each expert and not yet combined, shared by the intake (which records a request when it
 * dispatches it) and the combiner (which settles it when the response is emitted).
 *
 * <p>Entries are keyed by request id, so a re-processed record (Streams retries after an aborted transaction)
 * replaces its entry instead of counting twice. An entry that is never settled in this process — its response
 * was emitted by a combiner instance elsewhere — expires at the request's deadline plus a grace period, because
 * the combiner answers every request by its deadline. Accounting is therefore exact for one gateway process and
 * deadline-bounded for several.
 */
public final class InFlightLedger implements InFlightView {

    private record Entry(int[] tokensPerExpert, long expiresAtMs) {}

    private final int numExperts;
    private final long graceMs;
    private final Map<String, Entry> entries = new HashMap<>();
    private final AtomicLongArray inFlight;
    private final AtomicLongArray peak;
    private final AtomicLongArray dispatchedTokens;
    private final AtomicLongArray dispatchedBlocks;
    private volatile Runnable onDispatch = () -> {};

    public InFlightLedger(int numExperts, long graceMs) {
        this.numExperts = numExperts;
        this.graceMs = graceMs;
        this.inFlight = new AtomicLongArray(numExperts);
        this.peak = new AtomicLongArray(numExperts);
        this.dispatchedTokens = new AtomicLongArray(numExperts);
        this.dispatchedBlocks = new AtomicLongArray(numExperts);
    }

    /** Records the tokens of one dispatched request (replacing an earlier record of the same id). */
    public void dispatched(String requestId, int[] tokensPerExpert, long deadlineMs) {
        if (tokensPerExpert.length != numExperts) {
            throw new IllegalArgumentException("tokensPerExpert must have " + numExperts + " entries");
        }
        record(requestId, tokensPerExpert, deadlineMs);
        onDispatch.run(); // outside the ledger's lock: the listener takes the flow controller's
    }

    private synchronized void record(String requestId, int[] tokensPerExpert, long deadlineMs) {
        Entry old = entries.put(requestId, new Entry(tokensPerExpert.clone(), deadlineMs + graceMs));
        if (old != null) {
            subtract(old);
        }
        for (int e = 0; e < numExperts; e++) {
            if (tokensPerExpert[e] > 0) {
                // every dispatch appends a block, a re-processed one too: counted again
                dispatchedTokens.addAndGet(e, tokensPerExpert[e]);
                dispatchedBlocks.incrementAndGet(e);
            }
            long now = inFlight.addAndGet(e, tokensPerExpert[e]);
            if (now > peak.get(e)) {
                peak.set(e, now); // only this lock holder raises it
            }
        }
    }

    /**
     * Called (on the dispatching thread) after every {@link #dispatched}, so flow control reacts before the next
     * record instead of at its next periodic check.
     */
    public void onDispatch(Runnable listener) {
        this.onDispatch = listener == null ? () -> {} : listener;
    }

    /** Settles a request whose response was emitted; unknown ids are ignored. */
    public synchronized void settled(String requestId) {
        Entry old = entries.remove(requestId);
        if (old != null) {
            subtract(old);
        }
    }

    /** Drops entries past their expiry (see class comment). Returns how many expired. */
    public synchronized int expire(long nowMs) {
        int n = 0;
        Iterator<Entry> it = entries.values().iterator();
        while (it.hasNext()) {
            Entry e = it.next();
            if (e.expiresAtMs <= nowMs) {
                it.remove();
                subtract(e);
                n++;
            }
        }
        return n;
    }

    private void subtract(Entry e) {
        for (int i = 0; i < numExperts; i++) {
            inFlight.addAndGet(i, -e.tokensPerExpert[i]);
        }
    }

    /** Tokens this process has dispatched to {@code expert} since start (re-dispatches included). */
    public long dispatchedTokens(int expert) {
        return dispatchedTokens.get(expert);
    }

    /** Dispatch blocks (records on the expert's topic) this process has written for {@code expert} since start. */
    public long dispatchedBlocks(int expert) {
        return dispatchedBlocks.get(expert);
    }

    @Override
    public long inFlight(int expert) {
        return inFlight.get(expert);
    }

    /** The highest in-flight token count expert {@code expert} has reached since start. */
    public long peakInFlight(int expert) {
        return peak.get(expert);
    }

    @Override
    public int numExperts() {
        return numExperts;
    }

    public synchronized int pendingRequests() {
        return entries.size();
    }

    @Override
    public String toString() {
        long[] v = new long[numExperts];
        for (int i = 0; i < numExperts; i++) {
            v[i] = inFlight.get(i);
        }
        return "InFlightLedger" + Arrays.toString(v);
    }
}
