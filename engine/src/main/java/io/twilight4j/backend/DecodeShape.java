package io.twilight4j.backend;

/**
 * Largest batch a decode plan serves.
 *
 * @param queryHeads   query heads (a multiple of the cache's KV heads: GQA groups)
 * @param maxBatch     most sequences in one step
 * @param maxContext   longest sequence (tokens) the plan sizes its buffers for
 */
public record DecodeShape(int queryHeads, int maxBatch, int maxContext) {
    public DecodeShape {
        if (queryHeads <= 0 || maxBatch <= 0 || maxContext <= 0) {
            throw new IllegalArgumentException("decode shape: queryHeads, maxBatch and maxContext must be positive, got "
                    + queryHeads + ", " + maxBatch + ", " + maxContext);
        }
    }
}
