package io.twilight4j.backend;

import io.twilight4j.policy.AttentionPolicy;

/**
 * One planned decode-attention pipeline (select, prune, attend) for one policy and cache. Runs one
 * layer of one decode step for a batch of sequences.
 */
public interface DecodeAttention extends AutoCloseable {

    /** The policy this plan runs. */
    AttentionPolicy policy();

    /**
     * Attention of one new query per sequence over that sequence's cached tokens in {@code layer}.
     * Scores use the scale 1/sqrt(headDim).
     *
     * @param seqs sequence ids, each with at least one cached token
     * @param q    {@code [seqs.length][queryHeads][headDim]} queries, row-major
     * @param out  same shape as {@code q}: the attention outputs
     * @return what the step kept and how long its stages took (valid until the next run)
     */
    StepStats run(int layer, int[] seqs, float[] q, float[] out);

    /**
     * Whether the next steps fill {@link StepStats}' per-stage times. On some devices reading them
     * costs time (OpenCL: profiling queues and an event per kernel, ~3 us of device time per kernel and
     * up to 13 us of wall time per step on the H100), so plans start with them off where they cost, and a
     * caller that wants them turns them on. Backends whose stage times are free may ignore it.
     */
    default void recordStageTimes(boolean on) {
    }

    /**
     * Whether the next steps fill {@link StepStats#stepNanos} with the step's own time, measured as a
     * caller would time the whole operator (OpenCL: two profiling markers around the step's kernels,
     * which then carry no events of their own, as CUDA events around a PyTorch call). Off by default;
     * backends that measure nothing apart from their stages ignore it.
     */
    default void recordStepTimes(boolean on) {
    }

    /**
     * The tokens the last step attended for batch slot {@code slot} and query head {@code queryHead},
     * ascending, written to {@code out}; returns their count. For tests and accuracy tools.
     */
    int keptTokens(int slot, int queryHead, int[] out);

    /** Releases the plan's buffers. */
    @Override
    void close();
}
