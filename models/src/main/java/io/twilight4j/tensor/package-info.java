/**
 * Weight matrices stored in ggml's quantized block layouts ({@link io.twilight4j.tensor.QuantMatrix} and
 * one subclass per type), multiplied straight from the mapped bytes, plus the shared row-parallel pool
 * ({@link io.twilight4j.tensor.RowPool}) and fused products of one input with several matrices.
 */
package io.twilight4j.tensor;
