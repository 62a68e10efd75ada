/**
 * The worker pool shared by the CPU attention pipeline and the model's matrix products, the flags by
 * which later items of one of its loops wait for earlier ones, and what the benchmarks measure against
 * it: the same-run streaming-read baseline and the warm-up to a steady state.
 */
package io.twilight4j.parallel;
