/**
 * Benchmarks: the synthetic long-context attention workload, the {@code bench attention} harness
 * (latency, speedup, kept budget, error against dense, the true attention mass of what each policy
 * attended) and JMH benchmarks of the hot loops.
 */
package io.twilight4j.bench;
