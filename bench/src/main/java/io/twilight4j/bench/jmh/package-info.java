/**
 * JMH benchmarks of the CPU hot loops on one KV head of the synthetic workload: the decode kernel,
 * the 4-bit estimate, the top-p threshold and Quest page scoring. Scores are per token (or page).
 */
package io.twilight4j.bench.jmh;
