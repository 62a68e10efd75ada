package io.twilight4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.Backends;
import io.twilight4j.backend.DecodeAttention;
import io.twilight4j.backend.DecodeShape;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.policy.AttentionPolicy;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrueWeightsTest {

    private static final int CTX = 700;
    private static final int HQ = 8;
    private static final int HKV = 2;
    private static final int DIM = 64;

    private static BenchConfig config(int batch, int hq, int hkv) {
        return new BenchConfig("cpu", null, 2, batch, CTX, hq, hkv, DIM, List.of(AttentionPolicy.parse("quest:128")), 7, 1);
    }

    @Test
    void weightsAreTheSoftmaxOfTheCachedKeysInDoublePrecision() {
        // Reference: the keys read back from the cache's fp16 rows, not regenerated.
        SyntheticWorkload workload = new SyntheticWorkload(config(2, HQ, HKV));
        float[] q = workload.queries(8);
        try (HostKvCache cache = new HostKvCache(workload.shape(), null)) {
            int[] seqs = workload.fill(cache, n -> { });
            float scale = cache.shape().scoreScale();
            KvLayout layout = cache.layout();
            for (int slot = 0; slot < 2; slot++) {
                TrueWeights weights = TrueWeights.of(workload, slot, q, scale);
                int[] pageTable = new int[cache.pager().pageCount(seqs[slot])];
                cache.pager().copyPageTable(seqs[slot], pageTable, 0);
                for (int qh = 0; qh < HQ; qh++) {
                    double[] s = new double[CTX];
                    for (int pos = 0; pos < CTX; pos++) {
                        long off = 2 * layout.kvOffset(pageTable, qh / (HQ / HKV), pos);
                        for (int c = 0; c < DIM; c++) {
                            s[pos] += (double) q[(slot * HQ + qh) * DIM + c] * Fp16.get(cache.layer(0).keys(), off + 2L * c);
                        }
                        s[pos] *= scale;
                    }
                    TrueWeights.softmaxInPlace(s);
                    double total = 0;
                    for (int pos = 0; pos < CTX; pos++) {
                        assertEquals(s[pos], weights.weight(qh, pos), 1e-12 + 1e-9 * s[pos], "slot " + slot + " head " + qh);
                        total += weights.weight(qh, pos);
                    }
                    assertEquals(1.0, total, 1e-12);
                }
            }
        }
    }

    @Test
    void keptMassIsOneForDenseAndTheTopWeightsForTheOracle() {
        keptMass(HQ, HKV);
    }

    @Test
    void oneHeadPerKvHeadTheOracleKeepsExactlyItsTopWeights() {
        keptMass(HKV, HKV);
    }

    /**
     * Dense attends every token (mass 1); the oracle keeps the group's best tokens by the max of its heads'
     * scores, so a head's mass is at most its own top-B and, with one head per KV head, equal to it.
     */
    private static void keptMass(int hq, int hkv) {
        SyntheticWorkload workload = new SyntheticWorkload(config(1, hq, hkv));
        float[] q = workload.queries(8);
        int budget = 64;
        try (AttentionBackend backend = Backends.open("cpu", null, 2);
             var cache = backend.createCache(workload.shape(), null)) {
            int[] seqs = workload.fill(cache, n -> { });
            TrueWeights weights = TrueWeights.of(workload, 0, q, cache.shape().scoreScale());
            float[] out = new float[q.length];
            DecodeShape shape = new DecodeShape(hq, 1, CTX);
            try (DecodeAttention dense = backend.plan(cache, AttentionPolicy.dense(), shape);
                 DecodeAttention oracle = backend.plan(cache, AttentionPolicy.parse("oracle:" + budget), shape);
                 DecodeAttention pruned = backend.plan(cache, AttentionPolicy.parse("full+twilight:0.9"), shape)) {
                dense.run(0, seqs, q, out);
                oracle.run(0, seqs, q, out);
                pruned.run(0, seqs, q, out);
                double[] all = weights.keptMass(dense, 0);
                double[] best = weights.keptMass(oracle, 0);
                double[] kept = weights.keptMass(pruned, 0);
                for (int qh = 0; qh < hq; qh++) {
                    assertEquals(1.0, all[qh], 1e-12, "dense attends every token");
                    double[] w = new double[CTX];
                    for (int pos = 0; pos < CTX; pos++) {
                        w[pos] = weights.weight(qh, pos);
                    }
                    Arrays.sort(w);
                    double topB = 0;
                    for (int i = 0; i < budget; i++) {
                        topB += w[CTX - 1 - i];
                    }
                    if (hq == hkv) {
                        // fp32 scores may order near-ties differently from float64: a swap moves ~nothing.
                        assertEquals(topB, best[qh], 1e-6, "head " + qh);
                    } else {
                        assertTrue(best[qh] <= topB + 1e-12 && best[qh] > 0, "head " + qh + ": " + best[qh] + " vs top-B " + topB);
                    }
                    assertTrue(kept[qh] > 0 && kept[qh] <= 1 + 1e-12, "head " + qh + ": " + kept[qh]);
                }
            }
        }
    }
}
