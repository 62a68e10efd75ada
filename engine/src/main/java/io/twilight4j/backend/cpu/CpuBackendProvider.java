package io.twilight4j.backend.cpu;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.BackendProvider;

/** Registers the CPU backend under the name {@code cpu}. */
public final class CpuBackendProvider implements BackendProvider {

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public AttentionBackend open(String device, int threads) {
        return new CpuBackend(threads);
    }
}
