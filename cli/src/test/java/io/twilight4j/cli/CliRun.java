package io.twilight4j.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/** Runs {@link Main} with captured stdin/stdout/stderr, and finds the shared model files. */
record CliRun(int exit, String out, String err) {

    static CliRun run(String stdin, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        InputStream oldIn = System.in;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new CliRun(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setIn(oldIn);
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** {@code models/<name>} under TWILIGHT4J_SHARED; a skipped test when missing, a failed one when CI=true. */
    static Path sharedModel(String name) {
        String root = System.getenv("TWILIGHT4J_SHARED");
        Path p = Path.of(root == null ? "../../shared" : root, "models", name);
        if (!Files.isRegularFile(p)) {
            String reason = "shared model file missing: " + p.toAbsolutePath();
            Assertions.assertNotEquals("true", System.getenv("CI"), reason);
            System.err.println("SKIPPED: " + reason);
            Assumptions.abort(reason);
        }
        return p;
    }
}
