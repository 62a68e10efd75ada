package io.twilight4j.llama;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufFormatException;
import io.twilight4j.policy.AttentionPolicy;
import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

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
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("loading").setInitialMax(LlamaWeights.tensorCount(config))
                .setConsumer(new ConsoleProgressBarConsumer(progress)).setUnit(" tensors", 1).build()) {
            return new LlamaModel(config, LlamaWeights.load(file, config, total -> bar.step()));
        }
    }

    /**
     * A decoder for one sequence of up to {@code maxContext} tokens: layers below {@code denseLayers}
     * attend densely, the others with {@code policy}.
     */
    public LlamaDecoder newDecoder(AttentionBackend backend, AttentionPolicy policy, int denseLayers, int maxContext) {
        return new LlamaDecoder(this, backend, policy, denseLayers, maxContext);
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
