package io.twilight4j.select;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.policy.AttentionPolicy;

/**
 * A base selector on the CPU: proposes candidate tokens for one (sequence, KV head). The query heads
 * of a GQA group share one candidate set, ranked by the group's largest score, so the budget B0
 * counts tokens per KV head (the bytes floor of TWILIGHT.md section 6).
 */
public interface Selector {

    /**
     * Writes the candidate positions of (sequence, {@code kvHead}) to {@code out} in ascending order
     * and returns their count.
     *
     * @param pageTable the sequence's physical pages
     * @param length    the sequence's length in tokens
     * @param q         query rows of the group's {@code heads} heads, {@code headDim} floats each, from {@code qOff}
     */
    int select(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
               float[] q, int qOff, int heads, Workspace ws, int[] out);

    /** Most candidates this selector returns for a sequence of {@code length} tokens. */
    int maxCandidates(int length);

    /** The CPU selector of {@code policy} (which must not be dense). */
    static Selector of(AttentionPolicy policy) {
        return switch (policy.selector()) {
            case FULL -> new FullSelector();
            case QUEST -> new QuestSelector(policy.budgetTokens());
            case DS -> new DoubleSparsitySelector(policy.budgetTokens());
            case ORACLE -> new OracleSelector(policy.budgetTokens());
            case DENSE -> throw new IllegalArgumentException("dense attention has no selector");
        };
    }
}
