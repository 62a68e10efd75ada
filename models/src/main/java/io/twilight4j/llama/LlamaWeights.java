package io.twilight4j.llama;

import io.twilight4j.gguf.GgmlType;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufFormatException;
import io.twilight4j.gguf.GgufTensor;
import io.twilight4j.tensor.BF16Matrix;
import io.twilight4j.tensor.F16Matrix;
import io.twilight4j.tensor.F32Matrix;
import io.twilight4j.tensor.IQ4Matrix;
import io.twilight4j.tensor.KQuantMatrix;
import io.twilight4j.tensor.Q2_KMatrix;
import io.twilight4j.tensor.Q3_KMatrix;
import io.twilight4j.tensor.Q4_0Matrix;
import io.twilight4j.tensor.Q6_KMatrix;
import io.twilight4j.tensor.Q8_0Matrix;
import io.twilight4j.tensor.QuantMatrix;
import io.twilight4j.tensor.SmallBlockMatrix;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * Every weight of a Llama model; matrices stay in their file encoding. Per-layer arrays are indexed
 * by layer. {@code output} is {@code tokenEmbedding} itself when the file ties them.
 *
 * @param ropeFreqFactors llama.cpp's {@code rope_freqs.weight} (Llama-3.1), or null
 */
public record LlamaWeights(QuantMatrix tokenEmbedding, float[][] attnNorm, QuantMatrix[] wq, QuantMatrix[] wk,
                           QuantMatrix[] wv, QuantMatrix[] wo, float[][] ffnNorm, QuantMatrix[] gate,
                           QuantMatrix[] down, QuantMatrix[] up, float[] outputNorm, QuantMatrix output,
                           float[] ropeFreqFactors) {

    /** The tensor types a weight matrix may have (the decoder classes {@link #matrix} picks from). */
    public static final Set<GgmlType> MATRIX_TYPES = Collections.unmodifiableSet(EnumSet.of(GgmlType.F32, GgmlType.F16,
            GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K,
            GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.IQ4_NL, GgmlType.IQ4_XS));

    /** Called once per tensor while loading (progress display). */
    @FunctionalInterface
    public interface Progress {
        /** One more tensor of {@code total} is ready. */
        void step(int total);
    }

    /** Tensors {@link #load} prepares for {@code c} (for a progress bar's maximum). */
    public static int tensorCount(LlamaConfig c) {
        return 3 + 9 * c.layers();
    }

    /** Wraps the GGUF's tensors, checking every name, type and shape against {@code c}. */
    public static LlamaWeights load(GgufFile f, LlamaConfig c, Progress progress) throws GgufFormatException {
        int n = c.layers();
        int total = tensorCount(c);
        QuantMatrix embedding = matrix(f, "token_embd.weight", c.vocabSize(), c.dim());
        progress.step(total);
        float[][] attnNorm = new float[n][];
        float[][] ffnNorm = new float[n][];
        QuantMatrix[] wq = new QuantMatrix[n], wk = new QuantMatrix[n], wv = new QuantMatrix[n], wo = new QuantMatrix[n];
        QuantMatrix[] gate = new QuantMatrix[n], down = new QuantMatrix[n], up = new QuantMatrix[n];
        for (int l = 0; l < n; l++) {
            String p = "blk." + l + ".";
            attnNorm[l] = vector(f, p + "attn_norm.weight", c.dim());
            wq[l] = matrix(f, p + "attn_q.weight", c.dim(), c.dim());
            wk[l] = matrix(f, p + "attn_k.weight", c.kvDim(), c.dim());
            wv[l] = matrix(f, p + "attn_v.weight", c.kvDim(), c.dim());
            wo[l] = matrix(f, p + "attn_output.weight", c.dim(), c.dim());
            ffnNorm[l] = vector(f, p + "ffn_norm.weight", c.dim());
            gate[l] = matrix(f, p + "ffn_gate.weight", c.hiddenDim(), c.dim());
            down[l] = matrix(f, p + "ffn_down.weight", c.dim(), c.hiddenDim());
            up[l] = matrix(f, p + "ffn_up.weight", c.hiddenDim(), c.dim());
            for (int i = 0; i < 9; i++) {
                progress.step(total);
            }
        }
        float[] outputNorm = vector(f, "output_norm.weight", c.dim());
        progress.step(total);
        // Tied classifier: models without output.weight reuse the embedding matrix.
        QuantMatrix output = f.findTensor("output.weight").isPresent()
                ? matrix(f, "output.weight", c.vocabSize(), c.dim()) : embedding;
        progress.step(total);
        float[] freqs = f.findTensor("rope_freqs.weight").isPresent()
                ? vector(f, "rope_freqs.weight", c.ropeDim() / 2) : null;
        return new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, gate, down, up, outputNorm, output, freqs);
    }

    /** A matrix of {@code rows x cols} (GGUF dims {@code [cols, rows]}) in one of the supported types. */
    static QuantMatrix matrix(GgufFile f, String name, int rows, int cols) throws GgufFormatException {
        GgufTensor t = f.tensor(name);
        long[] dims = t.dims();
        if (dims.length != 2 || dims[0] != cols || dims[1] != rows) {
            throw new GgufFormatException(f.path() + ": tensor '" + name + "': shape " + Arrays.toString(dims)
                    + ", expected [" + cols + ", " + rows + "]");
        }
        MemorySegment data = f.data(t);
        try {
            return switch (t.type()) {
                case F32 -> new F32Matrix(data, rows, cols);
                case F16 -> new F16Matrix(data, rows, cols);
                case BF16 -> new BF16Matrix(data, rows, cols);
                case Q8_0 -> new Q8_0Matrix(data, rows, cols);
                case Q4_0 -> new Q4_0Matrix(data, rows, cols);
                case Q4_1 -> new SmallBlockMatrix(SmallBlockMatrix.Format.Q4_1, data, rows, cols);
                case Q5_0 -> new SmallBlockMatrix(SmallBlockMatrix.Format.Q5_0, data, rows, cols);
                case Q5_1 -> new SmallBlockMatrix(SmallBlockMatrix.Format.Q5_1, data, rows, cols);
                case Q2_K -> new Q2_KMatrix(data, rows, cols);
                case Q3_K -> new Q3_KMatrix(data, rows, cols);
                case Q4_K -> new KQuantMatrix(KQuantMatrix.Format.Q4_K, data, rows, cols);
                case Q5_K -> new KQuantMatrix(KQuantMatrix.Format.Q5_K, data, rows, cols);
                case Q6_K -> new Q6_KMatrix(data, rows, cols);
                case IQ4_NL -> new IQ4Matrix(IQ4Matrix.Format.IQ4_NL, data, rows, cols);
                case IQ4_XS -> new IQ4Matrix(IQ4Matrix.Format.IQ4_XS, data, rows, cols);
                default -> throw new GgufFormatException(f.path() + ": tensor '" + name + "': type " + t.type()
                        + " is not supported " + MATRIX_TYPES);
            };
        } catch (IllegalArgumentException e) {
            throw new GgufFormatException(f.path() + ": tensor '" + name + "': " + e.getMessage());
        }
    }

    /** A 1-D tensor of {@code length} values, decoded to floats (norm weights are small). */
    static float[] vector(GgufFile f, String name, int length) throws GgufFormatException {
        Optional<GgufTensor> t = f.findTensor(name);
        if (t.isEmpty()) {
            throw new GgufFormatException(f.path() + ": tensor '" + name + "' is missing");
        }
        long[] dims = t.get().dims();
        if (dims.length != 1 || dims[0] != length) {
            throw new GgufFormatException(f.path() + ": tensor '" + name + "': shape " + Arrays.toString(dims)
                    + ", expected [" + length + "]");
        }
        float[] v = new float[length];
        matrixOfOneRow(f, t.get(), name, length).dequantizeRow(0, v);
        return v;
    }

    private static QuantMatrix matrixOfOneRow(GgufFile f, GgufTensor t, String name, int length) throws GgufFormatException {
        return switch (t.type()) {
            case F32 -> new F32Matrix(f.data(t), 1, length);
            case F16 -> new F16Matrix(f.data(t), 1, length);
            case BF16 -> new BF16Matrix(f.data(t), 1, length);
            default -> throw new GgufFormatException(f.path() + ": tensor '" + name + "': type " + t.type()
                    + " is not supported for a vector (F32, F16, BF16)");
        };
    }
}
