/**
 * Base selectors of select-then-prune (full, Quest, Double Sparsity, oracle, StreamingLLM's window) as CPU reference code,
 * plus Double Sparsity channel calibration and the unsorted top-k they share.
 */
package io.twilight4j.select;
