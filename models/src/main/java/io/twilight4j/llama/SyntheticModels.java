package io.twilight4j.llama;

import io.twilight4j.gguf.GgmlType;
import io.twilight4j.gguf.GgufArray;
import io.twilight4j.gguf.GgufValueType;
import io.twilight4j.gguf.GgufWriter;
import io.twilight4j.tensor.F32Matrix;
import io.twilight4j.tensor.Q8_0Matrix;
import io.twilight4j.tensor.QuantMatrix;
import io.twilight4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Seeded random Llama models of real shapes with Q8_0 weights, for benchmarks and tests without a
 * download. Weights live in the caller's arena: the 8B shape needs ~8.5 GB, so nothing is built
 * until asked for by name.
 */
public final class SyntheticModels {

    /** A named model shape. */
    public record Shape(String name, LlamaConfig config) {
    }

    /** The shapes {@link #build} knows. */
    public static final List<Shape> SHAPES = List.of(
            new Shape("tiny", LlamaConfig.of(128, 384, 4, 8, 4, 512, 2048)),
            new Shape("llama-1b", LlamaConfig.of(2048, 8192, 16, 32, 8, 32000, 8192)),
            new Shape("llama2-7b", LlamaConfig.of(4096, 11008, 32, 32, 32, 32000, 4096)),
            new Shape("llama3-8b", new LlamaConfig(4096, 14336, 32, 32, 8, 128256, 8192, 1e-5f, 500000f, 128, null, 1f)));

    private SyntheticModels() {
    }

    /** The shape called {@code name}; an unknown name lists the known ones. */
    public static Shape shape(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return SHAPES.stream().filter(s -> s.name().equals(n)).findFirst().orElseThrow(() -> new IllegalArgumentException(
                "synthetic model '" + name + "' is unknown; known: " + String.join(", ", SHAPES.stream().map(Shape::name).toList())));
    }

    /**
     * Builds shape {@code name} with Q8_0 matrices drawn from {@code seed} (std 1/sqrt(fan-in), so
     * activations stay O(1)) and unit norm weights, allocated in {@code arena} (shared: the
     * matrix-vector products run on the pool's threads).
     */
    public static LlamaModel build(String name, long seed, Arena arena) {
        LlamaConfig c = shape(name).config();
        int n = c.layers();
        long s = seed * 1_000_003L;
        QuantMatrix[] wq = new QuantMatrix[n], wk = new QuantMatrix[n], wv = new QuantMatrix[n], wo = new QuantMatrix[n];
        QuantMatrix[] gate = new QuantMatrix[n], down = new QuantMatrix[n], up = new QuantMatrix[n];
        float[][] attnNorm = new float[n][], ffnNorm = new float[n][];
        for (int l = 0; l < n; l++) {
            wq[l] = random(c.dim(), c.dim(), s++, arena);
            wk[l] = random(c.kvDim(), c.dim(), s++, arena);
            wv[l] = random(c.kvDim(), c.dim(), s++, arena);
            wo[l] = random(c.dim(), c.dim(), s++, arena);
            gate[l] = random(c.hiddenDim(), c.dim(), s++, arena);
            down[l] = random(c.dim(), c.hiddenDim(), s++, arena);
            up[l] = random(c.hiddenDim(), c.dim(), s++, arena);
            attnNorm[l] = ones(c.dim());
            ffnNorm[l] = ones(c.dim());
        }
        // Embedding rows of unit variance; the classifier is a separate matrix, as in llama-2/3.
        QuantMatrix embedding = Q8_0Matrix.random(c.vocabSize(), c.dim(), 1.0, s++, arena);
        QuantMatrix output = random(c.vocabSize(), c.dim(), s, arena);
        return new LlamaModel(c, new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, gate, down, up,
                ones(c.dim()), output, null));
    }

    private static QuantMatrix random(int rows, int cols, long seed, Arena arena) {
        return Q8_0Matrix.random(rows, cols, 1 / Math.sqrt(cols), seed, arena);
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        return v;
    }

    /**
     * Writes {@code model} (Q8_0 matrices, F32 norms) as a GGUF that {@link LlamaModel#load} reads
     * back, with a byte-level SentencePiece vocabulary (specials, 256 byte tokens, filler pieces)
     * so any text can be tokenized. The file appears whole or not at all.
     */
    public static void write(LlamaModel model, String name, Path target) throws IOException {
        LlamaConfig c = model.config();
        LlamaWeights w = model.weights();
        GgufWriter g = new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.name", "synthetic " + name)
                .putUInt32("llama.context_length", c.contextLength())
                .putUInt32("llama.embedding_length", c.dim())
                .putUInt32("llama.feed_forward_length", c.hiddenDim())
                .putUInt32("llama.block_count", c.layers())
                .putUInt32("llama.attention.head_count", c.heads())
                .putUInt32("llama.attention.head_count_kv", c.kvHeads())
                .putUInt32("llama.rope.dimension_count", c.ropeDim())
                .putFloat("llama.rope.freq_base", c.ropeTheta())
                .putFloat("llama.attention.layer_norm_rms_epsilon", c.rmsEps());
        writeVocabulary(g, c.vocabSize());
        matrix(g, "token_embd.weight", w.tokenEmbedding());
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            vector(g, p + "attn_norm.weight", w.attnNorm()[l]);
            matrix(g, p + "attn_q.weight", w.wq()[l]);
            matrix(g, p + "attn_k.weight", w.wk()[l]);
            matrix(g, p + "attn_v.weight", w.wv()[l]);
            matrix(g, p + "attn_output.weight", w.wo()[l]);
            vector(g, p + "ffn_norm.weight", w.ffnNorm()[l]);
            matrix(g, p + "ffn_gate.weight", w.gate()[l]);
            matrix(g, p + "ffn_down.weight", w.down()[l]);
            matrix(g, p + "ffn_up.weight", w.up()[l]);
        }
        vector(g, "output_norm.weight", w.outputNorm());
        if (w.output() != w.tokenEmbedding()) {
            matrix(g, "output.weight", w.output());
        }
        g.write(target);
    }

    /** The byte-level vocabulary {@link #write} stores, as a tokenizer (for models kept in memory). */
    public static Tokenizer tokenizer(LlamaConfig c) {
        Vocabulary v = vocabulary(c.vocabSize());
        return Tokenizer.sentencePiece(v.tokens(), v.scores(), v.types(), 1, 2, 0);
    }

    /** GGUF's {@code tokenizer.ggml.tokens}, {@code scores} and {@code token_type} arrays. */
    private record Vocabulary(String[] tokens, float[] scores, int[] types) {
    }

    /** Specials, the 256 byte tokens, then filler pieces up to {@code vocab} tokens. */
    private static Vocabulary vocabulary(int vocab) {
        if (vocab < 259) {
            throw new IllegalArgumentException("a synthetic vocabulary needs at least 259 tokens, got " + vocab);
        }
        String[] tokens = new String[vocab];
        float[] scores = new float[vocab];
        int[] types = new int[vocab];
        tokens[0] = "<unk>";
        tokens[1] = "<s>";
        tokens[2] = "</s>";
        types[0] = 2;
        types[1] = types[2] = 3;
        for (int b = 0; b < 256; b++) {
            tokens[3 + b] = String.format("<0x%02X>", b);
            types[3 + b] = 6;
        }
        for (int i = 259; i < vocab; i++) {
            // Filler pieces that no merge produces from ordinary text: byte fallback covers all input.
            tokens[i] = "\u2581<synthetic-" + i + ">";
            scores[i] = -i;
            types[i] = 1;
        }
        return new Vocabulary(tokens, scores, types);
    }

    private static void writeVocabulary(GgufWriter g, int vocab) {
        Vocabulary v = vocabulary(vocab);
        g.putString("tokenizer.ggml.model", "llama")
                .putArray("tokenizer.ggml.tokens", new GgufArray(GgufValueType.STRING, v.tokens()))
                .putArray("tokenizer.ggml.scores", new GgufArray(GgufValueType.FLOAT32, v.scores()))
                .putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, v.types()))
                .putUInt32("tokenizer.ggml.bos_token_id", 1)
                .putUInt32("tokenizer.ggml.eos_token_id", 2)
                .putUInt32("tokenizer.ggml.unknown_token_id", 0);
    }

    private static void matrix(GgufWriter g, String name, QuantMatrix m) {
        GgmlType type = m instanceof Q8_0Matrix ? GgmlType.Q8_0 : m instanceof F32Matrix ? GgmlType.F32 : null;
        if (type == null) {
            throw new IllegalArgumentException("tensor '" + name + "': writing " + m.getClass().getSimpleName() + " is not supported");
        }
        g.addTensor(name, type, new long[] {m.cols(), m.rows()}, m.encoded());
    }

    private static void vector(GgufWriter g, String name, float[] v) {
        g.addTensor(name, GgmlType.F32, new long[] {v.length}, MemorySegment.ofArray(floatBytes(v)));
    }

    private static byte[] floatBytes(float[] v) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }
}
