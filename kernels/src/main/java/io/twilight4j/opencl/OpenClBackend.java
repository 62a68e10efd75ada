package io.twilight4j.opencl;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.DecodeAttention;
import io.twilight4j.backend.DecodeShape;
import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.KvCache;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.LabelChannels;
import io.twilight4j.policy.AttentionPolicy;

/** The OpenCL backend: one device context; caches and plans live on that device. */
public final class OpenClBackend implements AttentionBackend {

    private final OpenClContext cl;
    private final boolean timing;
    private final boolean fastPaths;

    /** Opens {@code device}; {@code timing} fills StepStats stage times from kernel profiling events. */
    public OpenClBackend(OpenClDevice device, boolean timing) {
        this(device, timing, true);
    }

    /** As {@link #OpenClBackend(OpenClDevice, boolean)}; {@code fastPaths} false keeps every kernel on its portable variant. */
    public OpenClBackend(OpenClDevice device, boolean timing, boolean fastPaths) {
        this.cl = new OpenClContext(device);
        this.timing = timing;
        this.fastPaths = fastPaths;
    }

    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public String description() {
        return "opencl " + cl.device().summary() + (fastPaths && cl.device().inlinePtx() ? ", PTX fast paths" : "");
    }

    @Override
    public KvCache createCache(KvShape shape, LabelChannels labels, KeySmoothing smoothing) {
        return new OpenClKvCache(cl, shape, labels, smoothing);
    }

    @Override
    public DecodeAttention plan(KvCache cache, AttentionPolicy policy, DecodeShape shape) {
        if (!(cache instanceof OpenClKvCache ocl) || ocl.context() != cl) {
            throw new IllegalArgumentException("opencl backend: the cache was not created by this backend");
        }
        return new OpenClDecodeAttention(ocl, policy, shape, timing, fastPaths);
    }

    @Override
    public void close() {
        cl.close();
    }
}
