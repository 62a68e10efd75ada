package io.twilight4j.opencl;

import java.util.ArrayList;
import java.util.List;

/** Closes what a constructor allocated when it fails half-way; {@link #keep} hands ownership on. */
final class Closer implements AutoCloseable {

    private final List<AutoCloseable> owned = new ArrayList<>();

    /** Registers {@code c} and returns it. */
    <T extends AutoCloseable> T add(T c) {
        owned.add(c);
        return c;
    }

    /** The constructor succeeded: nothing is closed. */
    void keep() {
        owned.clear();
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            closeQuietly(owned.get(i));
        }
        owned.clear();
    }

    static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // releasing after a failure: the first error is the one worth reporting
        }
    }
}
