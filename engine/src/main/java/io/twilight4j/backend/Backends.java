package io.twilight4j.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds backends by name among the providers on the class path. */
public final class Backends {

    private Backends() {
    }

    /** Names of every backend on the class path. */
    public static List<String> names() {
        List<String> names = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            names.add(p.name());
        }
        return names;
    }

    /** Opens backend {@code name}; an unknown name gives an error listing the known ones. */
    public static AttentionBackend open(String name, String device, int threads) {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.name().equalsIgnoreCase(name)) {
                return p.open(device, threads);
            }
        }
        throw new IllegalArgumentException("backend '" + name + "' is not available; known: " + String.join(", ", names()));
    }
}
