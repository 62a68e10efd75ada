package io.twilight4j.llama;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.Backends;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.SharedModels;
import io.twilight4j.tokenizer.Tokenizer;
import java.io.IOException;

/**
 * The real stories260K model from {@code ../shared}, opened once for a test class: its GGUF file, model and
 * tokenizer, and a two-thread CPU attention backend. {@link #close} releases the backend and the file.
 */
public final class Stories260K implements AutoCloseable {

    public final GgufFile file;
    public final LlamaModel model;
    public final Tokenizer tokenizer;
    public final AttentionBackend backend;

    private Stories260K(GgufFile file, LlamaModel model, Tokenizer tokenizer, AttentionBackend backend) {
        this.file = file;
        this.model = model;
        this.tokenizer = tokenizer;
        this.backend = backend;
    }

    /** Opens the model; skips the calling test class (fails it in CI) when no CPU backend is on the class path. */
    public static Stories260K open() throws IOException {
        if (!Backends.names().contains("cpu")) {
            String reason = "no 'cpu' attention backend on the class path";
            org.junit.jupiter.api.Assertions.assertNotEquals("true", System.getenv("CI"), reason);
            System.err.println("SKIPPED: " + reason);
            org.junit.jupiter.api.Assumptions.abort(reason);
        }
        GgufFile file = GgufFile.open(SharedModels.require("stories260K.gguf"));
        try {
            LlamaModel model = LlamaModel.load(file, null);
            return new Stories260K(file, model, Tokenizer.fromGguf(file), Backends.open("cpu", null, 2));
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    @Override
    public void close() {
        backend.close();
        file.close();
    }
}
