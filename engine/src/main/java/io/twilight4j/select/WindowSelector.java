package io.twilight4j.select;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.HostKvCache;

/**
 * StreamingLLM's window (Xiao et al., "Efficient Streaming Language Models with Attention Sinks"): the
 * sequence's first {@code sinks} tokens, which soak up attention whatever they hold, and its last {@code window}
 * tokens. No score is read: the baseline that any scoring selector has to beat at the same budget.
 */
public final class WindowSelector implements Selector {

    private final int window;
    private final int sinks;

    /** The first {@code sinks} tokens and the last {@code window}. */
    public WindowSelector(int window, int sinks) {
        if (window <= 0 || sinks < 0) {
            throw new IllegalArgumentException("window selector: window must be positive and sinks >= 0, got " + window
                    + " and " + sinks);
        }
        this.window = window;
        this.sinks = sinks;
    }

    @Override
    public int select(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                      float[] q, int qOff, int heads, Workspace ws, float[] shared, int[] out) {
        return positions(length, window, sinks, out);
    }

    /**
     * Writes positions {@code 0..min(sinks, length)} and the last {@code window} positions after them to {@code out}
     * in ascending order; returns their count. The OpenCL backend's window_candidates computes the same.
     */
    public static int positions(int length, int window, int sinks, int[] out) {
        int head = Math.min(sinks, length);
        int tail = Math.max(head, length - window);
        int n = 0;
        for (int i = 0; i < head; i++) {
            out[n++] = i;
        }
        for (int i = tail; i < length; i++) {
            out[n++] = i;
        }
        return n;
    }

    @Override
    public int maxCandidates(int length) {
        return (int) Math.min(length, (long) window + sinks);
    }
}
