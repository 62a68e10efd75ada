package io.twilight4j.llama;

import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufFormatException;

/**
 * Hyper-parameters of a Llama model, read from GGUF {@code llama.*} metadata.
 *
 * @param dim            embedding width
 * @param hiddenDim      SwiGLU feed-forward width
 * @param layers         transformer blocks
 * @param heads          query heads
 * @param kvHeads        key/value heads (GQA groups)
 * @param vocabSize      tokens in the vocabulary
 * @param contextLength  trained context length (tokens)
 * @param rmsEps         RMSNorm epsilon
 * @param ropeTheta      RoPE base frequency
 * @param ropeDim        leading channels of each head that RoPE rotates
 * @param ropeScaling    Llama-3.1 style frequency scaling, or null
 * @param ropeFreqScale  linear RoPE scaling (position interpolation): every frequency times this, 1 / factor;
 *                       1 for none
 */
public record LlamaConfig(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize,
                          int contextLength, float rmsEps, float ropeTheta, int ropeDim, RopeScaling ropeScaling,
                          float ropeFreqScale) {

    /**
     * Llama-3.1 RoPE scaling ({@code rope_type llama3}): long wavelengths are divided by
     * {@code factor}, short ones kept, with a smooth blend between the two bands.
     */
    public record RopeScaling(float factor, float lowFreqFactor, float highFreqFactor, int originalContext) {
    }

    public LlamaConfig {
        String bad = dim <= 0 ? "dim" : hiddenDim <= 0 ? "hiddenDim" : layers <= 0 ? "layers" : heads <= 0 ? "heads"
                : kvHeads <= 0 || heads % kvHeads != 0 ? "kvHeads (must divide heads)" : dim % heads != 0 ? "dim (must be a multiple of heads)"
                : vocabSize <= 0 ? "vocabSize" : contextLength <= 0 ? "contextLength"
                : ropeDim <= 0 || ropeDim % 2 != 0 || ropeDim > dim / heads ? "ropeDim (even, at most the head size)"
                : !(ropeFreqScale > 0 && ropeFreqScale <= 1) ? "RoPE linear scale (1 / factor, factor >= 1)" : null;
        if (bad != null) {
            throw new IllegalArgumentException("llama config: invalid " + bad + " in " + describe(dim, hiddenDim, layers, heads, kvHeads, vocabSize));
        }
    }

    private static String describe(int dim, int hidden, int layers, int heads, int kvHeads, int vocab) {
        return "dim " + dim + ", hidden " + hidden + ", layers " + layers + ", heads " + heads + "/" + kvHeads + ", vocab " + vocab;
    }

    /** A config without RoPE scaling, theta 10000, eps 1e-5, RoPE over the whole head. */
    public static LlamaConfig of(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize, int contextLength) {
        return new LlamaConfig(dim, hiddenDim, layers, heads, kvHeads, vocabSize, contextLength, 1e-5f, 10000f,
                dim / heads, null, 1f);
    }

    /** Channels per head. */
    public int headDim() {
        return dim / heads;
    }

    /** Width of the K and V projections. */
    public int kvDim() {
        return kvHeads * headDim();
    }

    /**
     * Reads the config of a {@code general.architecture = llama} file. Absent keys get llama.cpp's
     * defaults: vocabulary size from {@code tokenizer.ggml.tokens}, RoPE base 10000, RoPE over the
     * whole head, RMSNorm eps 1e-5, KV heads = heads.
     */
    public static LlamaConfig from(GgufFile f) throws GgufFormatException {
        String arch = f.getString("general.architecture", "(missing)");
        if (!arch.equals("llama")) {
            throw new GgufFormatException(f.path() + ": general.architecture '" + arch + "' is not supported (only 'llama')");
        }
        int dim = f.getInt("llama.embedding_length");
        int heads = f.getInt("llama.attention.head_count");
        int vocab = f.has("llama.vocab_size") ? f.getInt("llama.vocab_size")
                : f.has("tokenizer.ggml.tokens") ? f.getStringArray("tokenizer.ggml.tokens").length : -1;
        if (vocab <= 0) {
            throw new GgufFormatException(f.path() + ": neither llama.vocab_size nor tokenizer.ggml.tokens gives the vocabulary size");
        }
        RopeScaling scaling = null;
        // llama.cpp's older key for linear scaling; rope.scaling.type "linear" with rope.scaling.factor replaced it.
        float linearFactor = f.getFloat("llama.rope.scale_linear", 1f);
        String type = f.getString("llama.rope.scaling.type", "none");
        if (type.equals("llama3") || f.has("llama.rope.scaling.low_freq_factor")) {
            scaling = new RopeScaling(f.getFloat("llama.rope.scaling.factor", 8f),
                    f.getFloat("llama.rope.scaling.low_freq_factor", 1f),
                    f.getFloat("llama.rope.scaling.high_freq_factor", 4f),
                    f.getInt("llama.rope.scaling.original_context_length", 8192));
        } else if (type.equals("linear")) {
            linearFactor = f.getFloat("llama.rope.scaling.factor", linearFactor);
        } else if (!type.equals("none")) {
            throw new GgufFormatException(f.path() + ": llama.rope.scaling.type '" + type + "' is not supported (none, linear, llama3)");
        }
        if (!(linearFactor >= 1)) {
            throw new GgufFormatException(f.path() + ": RoPE linear scaling factor " + linearFactor + " (must be >= 1)");
        }
        try {
            return new LlamaConfig(dim, f.getInt("llama.feed_forward_length"), f.getInt("llama.block_count"), heads,
                    f.getInt("llama.attention.head_count_kv", heads), vocab, f.getInt("llama.context_length", 2048),
                    f.getFloat("llama.attention.layer_norm_rms_epsilon", 1e-5f), f.getFloat("llama.rope.freq_base", 10000f),
                    f.getInt("llama.rope.dimension_count", heads > 0 ? dim / heads : 0), scaling, 1f / linearFactor);
        } catch (IllegalArgumentException e) {
            throw new GgufFormatException(f.path() + ": " + e.getMessage());
        }
    }

    /**
     * RoPE inverse frequencies, one per rotated pair: theta^(-2i/ropeDim), Llama-3.1-scaled when
     * configured, and divided by {@code freqFactors} (llama.cpp's {@code rope_freqs.weight}) when given;
     * times {@link #ropeFreqScale} (linear scaling: position p rotates as position p / factor).
     */
    public float[] ropeInverseFrequencies(float[] freqFactors) {
        float[] inv = new float[ropeDim / 2];
        for (int i = 0; i < inv.length; i++) {
            double f = Math.pow(ropeTheta, -2.0 * i / ropeDim);
            // llama.cpp's converter bakes Llama-3.1 scaling into rope_freqs; never apply both.
            if (freqFactors != null) {
                f /= freqFactors[i];
            } else if (ropeScaling != null) {
                f = scale(f, ropeScaling);
            }
            inv[i] = (float) (f * ropeFreqScale);
        }
        return inv;
    }

    /** Meta's Llama-3.1 rule: keep high frequencies, divide low ones by factor, interpolate between. */
    private static double scale(double freq, RopeScaling s) {
        double wavelength = 2 * Math.PI / freq;
        double lowWavelength = s.originalContext() / s.lowFreqFactor();
        double highWavelength = s.originalContext() / s.highFreqFactor();
        if (wavelength < highWavelength) {
            return freq;
        }
        if (wavelength > lowWavelength) {
            return freq / s.factor();
        }
        double smooth = (s.originalContext() / wavelength - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * freq / s.factor() + smooth * freq;
    }
}
