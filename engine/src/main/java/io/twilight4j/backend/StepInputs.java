package io.twilight4j.backend;

import io.twilight4j.kv.KvPager;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The checked inputs of one decode step, shared by every backend: validates sequences, layer and
 * query/output sizes (no NaN or infinity in q), and copies each sequence's page table and length
 * into buffers sized at plan time. A slot that holds the same sequence as in the previous step gets
 * only its new pages ({@link #changedFrom}): a decode step adds at most one page, and every layer's
 * call of a step sees the same tables, so copying (and sending to a device) whole tables each call
 * cost more than the step's kernels at long contexts.
 */
public final class StepInputs {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private final KvPager pager;
    private final int maxBatch;
    private final int maxContext;
    private final int[][] pageTables;
    private final int[] lengths;
    // What each slot's table holds: the sequence, its creation and how many pages are valid.
    private final int[] heldSeq;
    private final long[] heldCreation;
    private final int[] heldPages;
    private final int[] changedFrom;

    /** Buffers for up to {@code maxBatch} sequences of up to {@code maxContext} tokens. */
    public StepInputs(KvPager pager, int maxBatch, int maxContext, int pageTokens) {
        this.pager = pager;
        this.maxBatch = maxBatch;
        this.maxContext = maxContext;
        this.pageTables = new int[maxBatch][(maxContext + pageTokens - 1) / pageTokens];
        this.lengths = new int[maxBatch];
        this.heldSeq = new int[maxBatch];
        this.heldCreation = new long[maxBatch];
        this.heldPages = new int[maxBatch];
        this.changedFrom = new int[maxBatch];
        forget();
    }

    /** Checks one step's arguments and loads page tables and lengths; errors name the bad value. */
    public void load(int layer, int layers, int[] seqs, float[] q, float[] out, int queryHeads, int dim) {
        if (layer < 0 || layer >= layers) {
            throw new IllegalArgumentException("decode: layer " + layer + " out of range [0, " + layers + ")");
        }
        if (seqs.length == 0 || seqs.length > maxBatch) {
            throw new IllegalArgumentException("decode: batch of " + seqs.length + " sequences; the plan takes 1 to " + maxBatch);
        }
        long n = (long) seqs.length * queryHeads * dim;
        if (q.length != n || out.length != n) {
            throw new IllegalArgumentException("decode: q and out must hold batch x queryHeads x headDim = " + n
                    + " floats, got " + q.length + " and " + out.length);
        }
        int bad = firstNonFinite(q, (int) n);
        if (bad >= 0) {
            throw new IllegalArgumentException("decode: q[" + bad + "] = " + q[bad] + " is not finite");
        }
        for (int b = 0; b < seqs.length; b++) {
            int s = seqs[b];
            if (!pager.isLive(s)) {
                throw new IllegalArgumentException("decode: no live sequence " + s);
            }
            int len = pager.length(s);
            if (len == 0 || len > maxContext) {
                throw new IllegalArgumentException("decode: sequence " + s + " has " + len + " tokens; the plan takes 1 to "
                        + maxContext);
            }
            for (int c = 0; c < b; c++) {
                if (seqs[c] == s) {
                    throw new IllegalArgumentException("decode: sequence " + s + " appears twice in one batch");
                }
            }
        }
        // Every check passed: only now change what the tables hold, so a rejected call leaves them as they were.
        for (int b = 0; b < seqs.length; b++) {
            int s = seqs[b];
            lengths[b] = pager.length(s);
            long creation = pager.creation(s);
            int from = heldSeq[b] == s && heldCreation[b] == creation ? heldPages[b] : 0;
            heldSeq[b] = s;
            heldCreation[b] = creation;
            heldPages[b] = pager.copyPagesFrom(s, from, pageTables[b]);
            changedFrom[b] = from;
        }
    }

    /** Index of the first NaN or infinity in {@code x[0..n)}, or -1: a vector pass (batch 16 x 32 heads is 65k floats a call). */
    private static int firstNonFinite(float[] x, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            // |x| < inf is false for infinities and for NaN alike.
            if (!FloatVector.fromArray(F, x, i).abs().lt(Float.POSITIVE_INFINITY).allTrue()) {
                break;
            }
        }
        for (; i < n; i++) {
            if (!Float.isFinite(x[i])) {
                return i;
            }
        }
        return -1;
    }

    /** The first page of slot {@code b}'s table that the previous {@link #load} did not already hold. */
    public int changedFrom(int b) {
        return changedFrom[b];
    }

    /** Forgets what the tables hold (after a failed step), so the next load reports every page as changed. */
    public void forget() {
        java.util.Arrays.fill(heldSeq, -1);
    }

    /** Page table of batch slot {@code b}. */
    public int[] pageTable(int b) {
        return pageTables[b];
    }

    /** Length of batch slot {@code b}. */
    public int length(int b) {
        return lengths[b];
    }
}
