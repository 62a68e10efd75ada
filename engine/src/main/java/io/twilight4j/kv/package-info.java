/**
 * The paged KV cache: shapes, the memory layout every backend shares, page allocation per sequence,
 * and the metadata kept on append (Quest page bounds, 4-bit keys, Double Sparsity labels), with the
 * 8-bit query encoding ({@link io.twilight4j.kv.Int8Query}) that the scorers of that metadata read.
 */
package io.twilight4j.kv;
