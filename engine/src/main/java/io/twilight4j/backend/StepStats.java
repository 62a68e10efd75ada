package io.twilight4j.backend;

/**
 * What one decode-attention step selected and kept, and where its time went. Owned by the plan and
 * overwritten by its next run (no allocation per step).
 */
public final class StepStats {

    private final int[] candidateTokens;
    private final int[] keptTokens;
    private int entries;
    /** Nanoseconds per stage of the last step: select, estimate (4-bit scores), top-p, attention. */
    public long selectNanos, estimateNanos, topPNanos, attentionNanos;
    /**
     * The whole step's nanoseconds where the backend measures them apart from its stages; 0 where the
     * stages' sum is the step's time. On a device: with step times on, the span between markers around the
     * step ({@link DecodeAttention#recordStepTimes}); with stage times on, its first kernel's start to its
     * last kernel's end, which also holds the kernels' own profiling events (stages of slices on several
     * queues overlap, so their sum overstates the step).
     */
    public long stepNanos;

    /** Room for {@code maxEntries} (sequence, query head) entries. */
    public StepStats(int maxEntries) {
        this.candidateTokens = new int[maxEntries];
        this.keptTokens = new int[maxEntries];
    }

    /** Starts a step of {@code entries} (sequence, query head) entries. */
    public void reset(int entries) {
        this.entries = entries;
        selectNanos = estimateNanos = topPNanos = attentionNanos = stepNanos = 0;
    }

    /** Records entry {@code e} = seq * queryHeads + head: tokens after selection and tokens attended. */
    public void record(int e, int candidates, int kept) {
        candidateTokens[e] = candidates;
        keptTokens[e] = kept;
    }

    /** (sequence, query head) entries of the last step. */
    public int entries() {
        return entries;
    }

    /** Tokens the selector proposed for entry {@code e}. */
    public int candidates(int e) {
        return candidateTokens[e];
    }

    /** Tokens entry {@code e} attended over (after pruning and the GQA union). */
    public int kept(int e) {
        return keptTokens[e];
    }

    /** Mean tokens attended per (sequence, query head). */
    public double meanKept() {
        long s = 0;
        for (int i = 0; i < entries; i++) {
            s += keptTokens[i];
        }
        return entries == 0 ? 0 : (double) s / entries;
    }

    /** Fewest tokens attended by any entry. */
    public int minKept() {
        int m = Integer.MAX_VALUE;
        for (int i = 0; i < entries; i++) {
            m = Math.min(m, keptTokens[i]);
        }
        return entries == 0 ? 0 : m;
    }

    /** Most tokens attended by any entry. */
    public int maxKept() {
        int m = 0;
        for (int i = 0; i < entries; i++) {
            m = Math.max(m, keptTokens[i]);
        }
        return m;
    }

    /** Total nanoseconds of the last step: {@link #stepNanos} where measured, else the stages' sum. */
    public long totalNanos() {
        return stepNanos > 0 ? stepNanos : selectNanos + estimateNanos + topPNanos + attentionNanos;
    }
}
