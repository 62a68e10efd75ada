package io.twilight4j.backend.cpu;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.BackendContractTest;

/** The backend contract on the CPU backend, with two workers so the parallel paths run. */
class CpuBackendTest extends BackendContractTest {
    @Override
    protected AttentionBackend openBackend() {
        return new CpuBackend(2);
    }
}
