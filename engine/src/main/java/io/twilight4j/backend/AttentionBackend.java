package io.twilight4j.backend;

import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.KvCache;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.LabelChannels;
import io.twilight4j.policy.AttentionPolicy;

/**
 * The backend SPI: where the KV cache lives and where decode attention runs (CPU threads or an
 * OpenCL device). Every backend implements the same contract, checked by the same tests.
 */
public interface AttentionBackend extends AutoCloseable {

    /** Short name: {@code cpu} or {@code opencl}. */
    String name();

    /** One line describing the device and its settings (threads, driver...). */
    String description();

    /**
     * Creates a KV cache resident on this backend, its 4-bit keys unsmoothed.
     *
     * @param labels Double Sparsity label channels (required when {@code shape.labelChannels() > 0})
     */
    default KvCache createCache(KvShape shape, LabelChannels labels) {
        return createCache(shape, labels, null);
    }

    /**
     * Creates a KV cache resident on this backend.
     *
     * @param labels    Double Sparsity label channels (required when {@code shape.labelChannels() > 0})
     * @param smoothing per-channel smoothing of the 4-bit keys ({@link KeySmoothing#calibrate}), or null
     */
    KvCache createCache(KvShape shape, LabelChannels labels, KeySmoothing smoothing);

    /**
     * Plans decode attention with {@code policy} over {@code cache} for batches up to
     * {@code shape}: buffers and schedules are sized here, so each step allocates nothing.
     */
    DecodeAttention plan(KvCache cache, AttentionPolicy policy, DecodeShape shape);

    /** Releases the backend's threads or device context. Caches and plans must be closed first. */
    @Override
    void close();
}
