/**
 * The paged KV cache: shapes, the memory layout every backend shares, page allocation per sequence,
 * and the metadata kept on append (Quest page bounds, 4-bit keys, Double Sparsity labels).
 */
package io.twilight4j.kv;
