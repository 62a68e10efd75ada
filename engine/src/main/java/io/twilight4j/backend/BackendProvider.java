package io.twilight4j.backend;

/**
 * Service-provider entry for a backend, found with {@link java.util.ServiceLoader} so the engine
 * needs no compile-time dependency on the OpenCL module.
 */
public interface BackendProvider {

    /** The backend's short name, as typed after {@code --backend}. */
    String name();

    /**
     * Opens the backend.
     *
     * @param device which device to use (index or name substring; null or blank for the default)
     * @param threads CPU threads (0 for one per core)
     */
    AttentionBackend open(String device, int threads);
}
