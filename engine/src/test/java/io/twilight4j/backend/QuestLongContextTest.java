package io.twilight4j.backend;

import io.twilight4j.kv.KvCache;
import io.twilight4j.policy.AttentionPolicy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Quest on sequences long enough that the CPU backend scores their pages in several ranges (4096
 * tokens each) on both workers, for all KV heads at once: every head still gets its best pages.
 */
class QuestLongContextTest {

    @ParameterizedTest
    @ValueSource(longs = {11, 12, 13})
    void pagesScoredInRangesRankLikeTheReference(long seed) {
        int[] lengths = {9000, 4097, 700};
        Workload w = new Workload(3, 2, 16, lengths, 0, seed);
        int budget = 640;
        String policy = "quest:" + budget;
        try (AttentionBackend backend = Backends.open("cpu", null, 2);
             KvCache cache = backend.createCache(w.shape, null);
             DecodeAttention plan = backend.plan(cache, AttentionPolicy.parse(policy),
                     new DecodeShape(w.queryHeads, lengths.length, 9000))) {
            w.writeTo(cache);
            float[] q = w.queries(1, seed + 5);
            plan.run(1, w.seqs, q, new float[q.length]);
            int[] set = new int[9000];
            for (int b = 0; b < lengths.length; b++) {
                for (int h = 0; h < w.shape.kvHeads(); h++) {
                    int n = plan.keptTokens(b, h * 2, set);
                    QuestReference.assertBestPages(w, 1, b, h, q, budget, set, n,
                            policy + " seed " + seed + " sequence " + b + " KV head " + h);
                }
            }
        }
    }
}
