package io.twilight4j.bench;

import io.twilight4j.policy.AttentionPolicy;

/**
 * What {@link AttentionBench#run} reports while it runs: the CLI shows the backend, a progress bar while the
 * cache fills, and which policy it is measuring (each takes seconds of warm-up and timed steps).
 */
public interface BenchListener {

    /** The backend is open; filling starts next. */
    default void opened(String backendDescription) {
    }

    /** {@code tokens} more tokens were written to the cache. */
    default void filled(int tokens) {
    }

    /** The cache holds the whole workload. */
    default void fillDone() {
    }

    /** {@code policy} is measured next (dense first, the baseline). */
    default void measuring(AttentionPolicy policy) {
    }
}
