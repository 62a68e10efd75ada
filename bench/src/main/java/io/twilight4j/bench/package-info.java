/**
 * Benchmarks: the synthetic long-context attention workload, the {@code bench attention} harness
 * (latency, speedup, kept budget, error against dense) and JMH benchmarks of the hot loops.
 */
package io.twilight4j.bench;
