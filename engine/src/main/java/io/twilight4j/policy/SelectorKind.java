package io.twilight4j.policy;

/** The base selectors of select-then-prune (TWILIGHT.md section 3). */
public enum SelectorKind {
    /** No selection: dense attention over every token (the baseline). */
    DENSE,
    /** Every token is a candidate, through the sparse path ("full+twilight" is the pruner alone). */
    FULL,
    /** Quest: pages ranked by an upper bound of q.k from per-page key min/max. */
    QUEST,
    /** Double Sparsity: tokens ranked by q.k over r calibrated label channels (2-bit keys). */
    DS,
    /** Exact top-B by q.k; for evaluation only. */
    ORACLE,
    /** StreamingLLM's window: the first S tokens (attention sinks) and the last W; no scoring at all. */
    WINDOW
}
