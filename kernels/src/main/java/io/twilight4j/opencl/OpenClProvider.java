package io.twilight4j.opencl;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.BackendProvider;

/** Service entry for {@code --backend opencl}. */
public final class OpenClProvider implements BackendProvider {

    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public AttentionBackend open(String device, int threads) {
        // Plans record no stage times until asked (DecodeAttention.recordStageTimes): the decoder never asks.
        return new OpenClBackend(OpenClDevice.choose(device), false);
    }
}
