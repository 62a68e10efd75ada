package io.twilight4j.select;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.HostKvCache;

/**
 * A selector that scores every token for the GQA group and keeps the best B0 (Double Sparsity,
 * oracle): short sequences keep every token; subclasses only say how a token is scored.
 */
abstract class TokenScoreSelector implements Selector {

    private final int budgetTokens;

    TokenScoreSelector(int budgetTokens) {
        this.budgetTokens = budgetTokens;
    }

    @Override
    public final int select(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                            float[] q, int qOff, int heads, Workspace ws, float[] shared, int[] out) {
        if (length <= budgetTokens) {
            return Selector.allTokens(length, out);
        }
        scoreTokens(cache, layer, pageTable, length, kvHead, q, qOff, heads, ws, ws.scores);
        return TopK.largest(ws.scores, length, budgetTokens, out);
    }

    /** Writes to {@code scores[pos]} the group's score of every position {@code pos < length}. */
    abstract void scoreTokens(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                              float[] q, int qOff, int heads, Workspace ws, float[] scores);

    @Override
    public final int maxCandidates(int length) {
        return Math.min(length, budgetTokens);
    }
}
