package io.twilight4j.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.gguf.GgmlType;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.tokenizer.Tokenizer;
import io.twilight4j.gguf.GgufFormatException;
import io.twilight4j.gguf.GgufWriter;
import io.twilight4j.tensor.QuantMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/** Synthetic models survive a GGUF round trip, and malformed llama files fail with one clear line. */
class SyntheticModelsTest {

    @TempDir
    Path dir;

    @Test
    void tinyModelRoundTripsThroughGguf() throws IOException {
        try (Arena arena = Arena.ofShared()) {
            LlamaModel built = SyntheticModels.build("tiny", 7, arena);
            Path file = dir.resolve("tiny.gguf");
            SyntheticModels.write(built, "tiny", file);
            try (GgufFile f = GgufFile.open(file)) {
                LlamaModel loaded = LlamaModel.load(f, null);
                assertEquals(built.config(), loaded.config());
                Random rnd = new Random(3);
                float[] x = new float[built.config().dim()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                assertSameProduct(built.weights().wq()[2], loaded.weights().wq()[2], x);
                assertSameProduct(built.weights().output(), loaded.weights().output(), x);
                assertArrayEquals(built.weights().ffnNorm()[1], loaded.weights().ffnNorm()[1]);
                assertEquals(built.weightBytesPerToken(), loaded.weightBytesPerToken());
                // The in-memory tokenizer is the one the file's vocabulary gives.
                Tokenizer fromFile = Tokenizer.fromGguf(f);
                Tokenizer inMemory = SyntheticModels.tokenizer(built.config());
                String text = "Once upon a time, \u00e9t\u00e9 \u2603!";
                assertArrayEquals(fromFile.encode(text, true, false), inMemory.encode(text, true, false));
                int[] ids = inMemory.encode(text, false, false);
                assertEquals(fromFile.decode(ids), inMemory.decode(ids));
                assertEquals(fromFile.eos(), inMemory.eos());
            }
            // Same seed, same weights; another seed, other weights.
            float[] a = new float[128], b = new float[128], c = new float[128];
            built.weights().tokenEmbedding().dequantizeRow(5, a);
            SyntheticModels.build("tiny", 7, arena).weights().tokenEmbedding().dequantizeRow(5, b);
            SyntheticModels.build("tiny", 8, arena).weights().tokenEmbedding().dequantizeRow(5, c);
            assertArrayEquals(a, b);
            assertTrue(!java.util.Arrays.equals(a, c));
        }
    }

    /**
     * Same weights (every dequantized row bit for bit) and the same product within rounding: two calls
     * of matvec may run at different JIT tiers, whose vector reductions add in different orders.
     */
    private static void assertSameProduct(QuantMatrix expected, QuantMatrix actual, float[] x) {
        assertEquals(expected.rows(), actual.rows());
        float[] r1 = new float[expected.cols()];
        float[] r2 = new float[actual.cols()];
        for (int r = 0; r < expected.rows(); r++) {
            expected.dequantizeRow(r, r1);
            actual.dequantizeRow(r, r2);
            assertArrayEquals(r1, r2, "row " + r);
        }
        float[] y1 = new float[expected.rows()];
        float[] y2 = new float[actual.rows()];
        expected.matvec(x, y1);
        actual.matvec(x, y2);
        for (int i = 0; i < y1.length; i++) {
            assertEquals(y1[i], y2[i], 1e-5f * (1 + Math.abs(y1[i])), "product row " + i);
        }
    }

    @Test
    void unknownShapeNamesTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SyntheticModels.shape("gpt5"));
        assertTrue(e.getMessage().contains("llama-1b"), e.getMessage());
    }

    @Test
    void wrongArchitectureIsOneLineNamingFileAndKey() throws IOException {
        Path file = dir.resolve("gpt2.gguf");
        llamaHeader(new GgufWriter().putString("general.architecture", "gpt2")).write(file);
        String msg = loadError(file);
        assertTrue(msg.contains(file.toString()) && msg.contains("general.architecture") && msg.contains("gpt2"), msg);
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path file = dir.resolve("empty.gguf");
        llamaHeader(new GgufWriter().putString("general.architecture", "llama")).write(file);
        String msg = loadError(file);
        assertTrue(msg.contains(file.toString()) && msg.contains("token_embd.weight"), msg);
    }

    @Test
    void wrongShapeAndUnsupportedTypeAreNamed() throws IOException {
        Path file = dir.resolve("shape.gguf");
        llamaHeader(new GgufWriter().putString("general.architecture", "llama"))
                .addTensor("token_embd.weight", GgmlType.F32, new long[] {32, 299}, new byte[32 * 299 * 4]).write(file);
        String msg = loadError(file);
        assertTrue(msg.contains("token_embd.weight") && msg.contains("[32, 299]") && msg.contains("[32, 300]"), msg);

        // Q8_1 is ggml's activation format, never a weight type llama.cpp writes.
        Path q81 = dir.resolve("q81.gguf");
        llamaHeader(new GgufWriter().putString("general.architecture", "llama"))
                .addTensor("token_embd.weight", GgmlType.Q8_1, new long[] {32, 300}, new byte[300 * 36]).write(q81);
        msg = loadError(q81);
        assertTrue(msg.contains("token_embd.weight") && msg.contains("Q8_1") && msg.contains("not supported"), msg);
    }

    /** The 32-weight block types load (the loader moves on to the next tensor, which this file lacks). */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_1", "Q5_0", "Q5_1"})
    void smallBlockTypesAreAccepted(GgmlType type) throws IOException {
        Path file = dir.resolve(type + ".gguf");
        llamaHeader(new GgufWriter().putString("general.architecture", "llama"))
                .addTensor("token_embd.weight", type, new long[] {32, 300}, new byte[300 * type.blockBytes()]).write(file);
        String msg = loadError(file);
        assertTrue(!msg.contains("token_embd.weight") && !msg.contains("not supported"), msg);
    }

    private static GgufWriter llamaHeader(GgufWriter g) {
        return g.putUInt32("llama.embedding_length", 32).putUInt32("llama.feed_forward_length", 64)
                .putUInt32("llama.block_count", 1).putUInt32("llama.attention.head_count", 4)
                .putUInt32("llama.vocab_size", 300);
    }

    private static String loadError(Path file) throws IOException {
        try (GgufFile f = GgufFile.open(file)) {
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> LlamaModel.load(f, null));
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
            return e.getMessage();
        }
    }
}
