package io.twilight4j.prune;

import io.twilight4j.attention.DecodeKernel;
import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;
import java.lang.foreign.MemorySegment;

/**
 * The pruner's scores of {@code +topp:P}: q . k / sqrt(d) from the cache's fp16 keys and the float query, the
 * oracle counterpart of {@link Int4Estimator}'s 4-bit estimate, in the same layout. With them the top-p stage
 * keeps the smallest set whose exact candidate mass reaches p, so a policy's error splits into p's share and
 * the estimate's.
 */
public final class ExactScores {

    private ExactScores() {
    }

    /**
     * Writes the scores of the group's {@code heads} query heads (rows of d floats at {@code q[qOff..]}) for
     * candidates {@code tokens[0..n)} of KV head {@code kvHead} to {@code scores[scoresOff + g * n + i]}, scaled by
     * {@code scoreScale} (1/sqrt(d)).
     */
    public static void compute(HostKvCache cache, int layer, int[] pageTable, int kvHead, int[] tokens, int n, float[] q,
                               int qOff, int heads, float scoreScale, Workspace ws, float[] scores, int scoresOff) {
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        MemorySegment keys = cache.layer(layer).keys();
        for (int b = 0; b < n; b += Workspace.BLOCK) {
            int m = Math.min(Workspace.BLOCK, n - b);
            // Rows gathered as stored, then converted in one run (as the sparse attention does).
            for (int t = 0; t < m; t++) {
                Fp16.copy(keys, 2 * layout.kvOffset(pageTable, kvHead, tokens[b + t]), ws.keyHalves, t * dim, dim);
            }
            Fp16.toFloat(ws.keyHalves, 0, ws.keyBlock, 0, m * dim);
            DecodeKernel.scores(q, qOff, heads, dim, ws.keyBlock, m, scores, scoresOff + b, n, scoreScale);
        }
    }
}
