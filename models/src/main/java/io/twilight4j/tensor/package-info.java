/**
 * Weight matrices stored in ggml's quantized block layouts ({@link io.twilight4j.tensor.QuantMatrix} and
 * one subclass per type or family of types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS), multiplied straight from the mapped bytes, plus the shared row-parallel pool
 * ({@link io.twilight4j.tensor.RowPool}) and fused products of one input with several matrices.
 */
package io.twilight4j.tensor;
