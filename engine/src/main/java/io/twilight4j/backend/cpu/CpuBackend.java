package io.twilight4j.backend.cpu;

import io.twilight4j.parallel.WorkerPool;
import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.DecodeAttention;
import io.twilight4j.backend.DecodeShape;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.KvCache;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.LabelChannels;
import io.twilight4j.policy.AttentionPolicy;
import jdk.incubator.vector.FloatVector;

/** The pure-Java backend: KV cache in off-heap memory, the pipeline on a pool of worker threads. */
public final class CpuBackend implements AttentionBackend {

    private final WorkerPool pool;

    /** A backend with {@code threads} workers (0: one per available processor). */
    public CpuBackend(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("cpu backend: threads must be >= 0, got " + threads);
        }
        // Attention steps come one layer after another: idle workers spin ~20 us, then park.
        this.pool = new WorkerPool(threads == 0 ? Runtime.getRuntime().availableProcessors() : threads, "twilight4j-cpu", 20_000);
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        return "cpu: " + pool.workers() + " threads, " + FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors";
    }

    @Override
    public KvCache createCache(KvShape shape, LabelChannels labels, KeySmoothing smoothing) {
        return new HostKvCache(shape, labels, smoothing);
    }

    @Override
    public DecodeAttention plan(KvCache cache, AttentionPolicy policy, DecodeShape shape) {
        if (!(cache instanceof HostKvCache host)) {
            throw new IllegalArgumentException("cpu backend: the KV cache belongs to another backend");
        }
        return new CpuDecodeAttention(host, policy, shape, pool);
    }

    @Override
    public void close() {
        pool.close();
    }
}
