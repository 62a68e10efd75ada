package io.twilight4j.llama;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.console.ProgressBars;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufFormatException;
import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.LabelChannels;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.select.ChannelCalibration;
import java.io.PrintStream;
import me.tongfei.progressbar.ProgressBar;

/** A loaded Llama model: its config and weights (immutable, shared by any number of decoders). */
public record LlamaModel(LlamaConfig config, LlamaWeights weights) {

    /** Loads {@code file}'s config and weights, with a progress bar on stderr. */
    public static LlamaModel load(GgufFile file) throws GgufFormatException {
        return load(file, System.err);
    }

    /** Loads {@code file}; the progress bar goes to {@code progress} (null: none). */
    public static LlamaModel load(GgufFile file, PrintStream progress) throws GgufFormatException {
        LlamaConfig config = LlamaConfig.from(file);
        if (progress == null) {
            return new LlamaModel(config, LlamaWeights.load(file, config, total -> { }));
        }
        try (ProgressBar bar = ProgressBars.on(progress, "loading", LlamaWeights.tensorCount(config), " tensors").build()) {
            return new LlamaModel(config, LlamaWeights.load(file, config, total -> bar.step()));
        }
    }

    /**
     * A decoder for one sequence of up to {@code maxContext} tokens: layers below {@code denseLayers}
     * attend densely, the others with {@code policy}.
     */
    public LlamaDecoder newDecoder(AttentionBackend backend, AttentionPolicy policy, int denseLayers, int maxContext) {
        return newDecoder(backend, policy, denseLayers, maxContext, null);
    }

    /** As above, with Double Sparsity's label channels (required by a {@code ds} policy, else may be null). */
    public LlamaDecoder newDecoder(AttentionBackend backend, AttentionPolicy policy, int denseLayers, int maxContext,
                                   LabelChannels labels) {
        return newDecoder(backend, policy, denseLayers, maxContext, labels, null);
    }

    /** As above, with the cache's key smoothing ({@link #calibrateKeySmoothing}; null: none). */
    public LlamaDecoder newDecoder(AttentionBackend backend, AttentionPolicy policy, int denseLayers, int maxContext,
                                   LabelChannels labels, KeySmoothing smoothing) {
        return new LlamaDecoder(this, backend, policy, denseLayers, maxContext, labels, smoothing);
    }

    /**
     * Calibrates Double Sparsity's {@code r} label channels per layer and KV head on this model's own
     * queries for {@code tokens} (a dense pass; TWILIGHT.md section 3).
     */
    public LabelChannels calibrateLabelChannels(AttentionBackend backend, int[] tokens, int r) {
        float[][][] samples = denseSamples(backend, tokens, "label calibration");
        return ChannelCalibration.calibrate(samples[0], config.heads(), config.kvHeads(), config.headDim(), r);
    }

    /**
     * Calibrates the cache's key smoothing ({@link KeySmoothing#calibrate}) per layer and KV head on this model's
     * own keys and queries (after RoPE) for {@code tokens} (a dense pass).
     */
    public KeySmoothing calibrateKeySmoothing(AttentionBackend backend, int[] tokens) {
        float[][][] samples = denseSamples(backend, tokens, "key smoothing calibration");
        return KeySmoothing.calibrate(samples[1], samples[0], config.heads(), config.kvHeads(), config.headDim());
    }

    /** Per layer, the queries ([0]) and keys ([1]) of a dense pass over {@code tokens}, one row after another. */
    private float[][][] denseSamples(AttentionBackend backend, int[] tokens, String what) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException(what + " needs at least one token");
        }
        int queryRow = config.heads() * config.headDim();
        int keyRow = config.kvDim();
        float[][][] samples = {new float[config.layers()][tokens.length * queryRow],
                new float[config.layers()][tokens.length * keyRow]};
        int[] filled = new int[config.layers()];
        try (LlamaDecoder d = newDecoder(backend, AttentionPolicy.dense(), config.layers(), tokens.length)) {
            d.record((layer, q, k) -> {
                int t = filled[layer]++;
                System.arraycopy(q, 0, samples[0][layer], t * queryRow, queryRow);
                System.arraycopy(k, 0, samples[1][layer], t * keyRow, keyRow);
            });
            for (int t : tokens) {
                d.forward(t);
            }
        }
        return samples;
    }

    /** Bytes of weights one decode step streams (every matrix once, the classifier included). */
    public long weightBytesPerToken() {
        LlamaWeights w = weights;
        long bytes = w.output().byteSize();
        for (int l = 0; l < config.layers(); l++) {
            bytes += w.wq()[l].byteSize() + w.wk()[l].byteSize() + w.wv()[l].byteSize() + w.wo()[l].byteSize()
                    + w.gate()[l].byteSize() + w.down()[l].byteSize() + w.up()[l].byteSize();
        }
        return bytes;
    }
}
