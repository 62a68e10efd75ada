package io.twilight4j.gguf;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/** Finds files under the shared models folder ({@code TWILIGHT4J_SHARED}); skips locally, fails in CI, when missing. */
public final class SharedModels {

    private SharedModels() {
    }

    /** The path of {@code models/<relative>}, or a skipped (CI: failed) test when it is absent. */
    public static Path require(String relative) {
        String root = System.getenv("TWILIGHT4J_SHARED");
        Path p = Path.of(root == null ? "../../shared" : root, "models", relative);
        if (!Files.isRegularFile(p)) {
            String reason = "shared model file missing: " + p.toAbsolutePath();
            if ("true".equals(System.getenv("CI"))) {
                Assertions.fail(reason);
            }
            System.err.println("SKIPPED: " + reason);
            Assumptions.abort(reason);
        }
        return p;
    }
}
