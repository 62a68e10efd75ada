/**
 * Base selectors of select-then-prune (full, Quest, Double Sparsity, oracle) as CPU reference code,
 * plus Double Sparsity channel calibration and the unsorted top-k they share.
 */
package io.twilight4j.select;
