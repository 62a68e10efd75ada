package io.twilight4j.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufFormatException;
import io.twilight4j.gguf.GgufWriter;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RoPE scaling keys of a GGUF: linear (both spellings), none, and a type the decoder does not implement. */
class RopeScalingTest {

    @TempDir
    Path dir;

    private LlamaConfig config(String name, UnaryOperator<GgufWriter> keys) throws Exception {
        Path p = dir.resolve(name + ".gguf");
        keys.apply(new GgufWriter().putString("general.architecture", "llama").putUInt32("llama.embedding_length", 64)
                .putUInt32("llama.feed_forward_length", 128).putUInt32("llama.block_count", 1)
                .putUInt32("llama.attention.head_count", 4).putUInt32("llama.vocab_size", 100)).write(p);
        try (GgufFile f = GgufFile.open(p)) {
            return LlamaConfig.from(f);
        }
    }

    @Test
    void linearScalingDividesEveryFrequencyByTheFactor() throws Exception {
        LlamaConfig plain = config("plain", g -> g);
        LlamaConfig linear = config("linear", g -> g.putString("llama.rope.scaling.type", "linear").putFloat("llama.rope.scaling.factor", 4f));
        LlamaConfig old = config("old", g -> g.putFloat("llama.rope.scale_linear", 4f));
        assertEquals(1f, plain.ropeFreqScale());
        assertEquals(0.25f, linear.ropeFreqScale());
        float[] base = plain.ropeInverseFrequencies(null);
        float[] expected = new float[base.length];
        for (int i = 0; i < base.length; i++) {
            // theta^(-2i/d) / 4, in double as the reference
            expected[i] = (float) (Math.pow(10000, -2.0 * i / 16) / 4);
        }
        assertArrayEquals(expected, linear.ropeInverseFrequencies(null), 1e-9f);
        assertArrayEquals(linear.ropeInverseFrequencies(null), old.ropeInverseFrequencies(null));
    }

    @Test
    void unsupportedTypesAndBadFactorsAreNamed() {
        var yarn = assertThrows(GgufFormatException.class, () -> config("yarn", g -> g.putString("llama.rope.scaling.type", "yarn")));
        assertTrue(yarn.getMessage().contains("'yarn' is not supported (none, linear, llama3)"), yarn.getMessage());
        var half = assertThrows(GgufFormatException.class, () -> config("half",
                g -> g.putString("llama.rope.scaling.type", "linear").putFloat("llama.rope.scaling.factor", 0.5f)));
        assertTrue(half.getMessage().contains("RoPE linear scaling factor 0.5 (must be >= 1)"), half.getMessage());
    }
}
