/**
 * The paged KV cache: shapes, the memory layout every backend shares (the host cache keeps its 4-bit keys
 * in page columns instead of token rows, and Quest's bound codes in both, {@link io.twilight4j.kv.PageColumns}), page
 * allocation per sequence, and the metadata kept on append (Quest page bounds, 4-bit keys, smoothed per channel
 * where a {@link io.twilight4j.kv.KeySmoothing} is given, Double Sparsity labels), with the 8-bit query encoding ({@link io.twilight4j.kv.Int8Query}) that the scorers of that
 * metadata read, and {@link io.twilight4j.kv.CacheLines}, which asks for a cache range's lines ahead of use (the
 * CPU's prefetch instruction through {@code NativePrefetch} where it can, touch loads elsewhere).
 */
package io.twilight4j.kv;
