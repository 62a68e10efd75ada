package io.twilight4j.select;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.Int8Query;
import io.twilight4j.policy.AttentionPolicy;

/**
 * A base selector on the CPU: proposes candidate tokens for one (sequence, KV head). The query heads
 * of a GQA group share one candidate set, ranked by the group's largest score, so the budget B0
 * counts tokens per KV head (the bytes floor of TWILIGHT.md section 6).
 * A selector may first score pages of a sequence for all its KV heads at once ({@link #scorePages},
 * run in parallel over page ranges), because the cache stores a page's heads next to each other;
 * {@link #select} then ranks one KV head from those shared scores.
 */
public interface Selector {

    /**
     * Writes the candidate positions of (sequence, {@code kvHead}) to {@code out} in ascending order
     * and returns their count.
     *
     * @param pageTable the sequence's physical pages
     * @param length    the sequence's length in tokens
     * @param q         query rows of the group's {@code heads} heads, {@code headDim} floats each, from {@code qOff}
     * @param shared    the sequence's scores from {@link #scorePages} (every page range done), or unused
     */
    int select(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
               float[] q, int qOff, int heads, Workspace ws, float[] shared, int[] out);

    /** Most candidates this selector returns for a sequence of {@code length} tokens. */
    int maxCandidates(int length);

    /** Pages of a {@code length}-token sequence that {@link #scorePages} scores; 0 when it has no shared pass. */
    default int scoredPages(int length, int pageTokens) {
        return 0;
    }

    /** Floats of one sequence's shared scores for up to {@code maxContext} tokens, {@code group} query heads per KV head. */
    default int sharedFloats(int maxContext, int kvHeads, int group, int pageTokens) {
        return 0;
    }

    /** Floats {@link #prepareQueries} writes for {@code heads} query heads of {@code headDim} channels. */
    default int preparedFloats(int heads, int headDim) {
        return 0;
    }

    /**
     * Prepares one sequence's query heads for {@link #scorePages}, once per step (its page ranges are
     * scored in parallel and would each redo it): {@code heads} {@link Int8Query} rows, head i's codes at
     * {@code queryCodes[(firstHead + i) * headDim..]}, into {@code prepared}; {@code scratch} holds
     * 2 * headDim floats.
     */
    default void prepareQueries(float[] queryCodes, int firstHead, int heads, int headDim, float[] scratch,
                                float[] prepared) {
    }

    /**
     * Scores pages {@code fromPage..toPage} (below {@link #scoredPages}) of every KV head of one
     * sequence into {@code shared}. The sequence's query heads come as {@link #prepareQueries} wrote
     * them, head i's scale at {@code queryScales[firstHead + i]}, {@code group} heads per KV head.
     */
    default void scorePages(HostKvCache cache, int layer, int[] pageTable, int length, int fromPage, int toPage,
                            float[] prepared, float[] queryScales, int firstHead, int group, Workspace ws, float[] shared) {
    }

    /** Writes positions {@code 0..length-1} to {@code out} and returns {@code length}: the whole sequence. */
    static int allTokens(int length, int[] out) {
        for (int i = 0; i < length; i++) {
            out[i] = i;
        }
        return length;
    }

    /** The CPU selector of {@code policy} (which must not be dense). */
    static Selector of(AttentionPolicy policy) {
        return switch (policy.selector()) {
            case FULL -> new FullSelector();
            case QUEST -> new QuestSelector(policy.budgetTokens());
            case DS -> new DoubleSparsitySelector(policy.budgetTokens());
            case ORACLE -> new OracleSelector(policy.budgetTokens());
            case WINDOW -> new WindowSelector(policy.budgetTokens(), policy.sinkTokens());
            case DENSE -> throw new IllegalArgumentException("dense attention has no selector");
        };
    }
}
