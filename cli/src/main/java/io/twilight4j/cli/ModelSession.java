package io.twilight4j.cli;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.Backends;
import io.twilight4j.console.ProgressBars;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.llama.DecodeBenchmark;
import io.twilight4j.llama.LlamaDecoder;
import io.twilight4j.llama.LlamaModel;
import io.twilight4j.llama.SyntheticModels;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.sample.Sampler;
import io.twilight4j.sample.Utf8Stream;
import io.twilight4j.tensor.RowPool;
import io.twilight4j.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.IntPredicate;
import me.tongfei.progressbar.ProgressBar;

/**
 * A loaded model decoding one sequence for the CLI: feeds prompt tokens, streams sampled tokens as
 * whole UTF-8 characters, and times both phases for the Ollama-style stats line.
 */
final class ModelSession implements AutoCloseable {

    /** Prompts of at least this many tokens get a progress bar on stderr. */
    static final int PROMPT_BAR_TOKENS = 64;
    /** Prompt tokens the key smoothing is calibrated on, at most (one dense pass over them). */
    static final int SMOOTHING_TOKENS = 256;

    /** The model file, or null for a synthetic model. */
    final GgufFile file;
    final Tokenizer tokenizer;
    final LlamaModel model;
    /** Holds a synthetic model's weights, or null. */
    private final Arena weights;
    private final AttentionPolicy policy;
    private final int denseLayers;
    private final boolean densePrompt;
    private final AttentionBackend backend;
    /**
     * Made once the first prompt is known where it calibrates something: Double Sparsity's label channels (without a
     * label file) or the key smoothing of a policy that reads the 4-bit keys (Quest, Twilight's estimate).
     */
    private LlamaDecoder decoder;
    private final int context;
    private final java.nio.file.Path labelFile;
    private final java.nio.file.Path saveLabels;
    private final boolean smoothKeys;
    private final Sampler sampler;
    private final long loadNanos;
    private long promptTokens;
    private long promptNanos;
    private long evalTokens;
    private long evalNanos;
    private double budgetSum;
    private long budgetTurns;

    /**
     * Opens {@code o.model} (or builds {@code synthetic}) with room for {@code --ctx} tokens (capped at the
     * model's context length); the progress bar goes to stderr. The policy and sampler settings are checked
     * before the file is read.
     */
    ModelSession(ModelOptions o) throws Exception {
        this(o, null);
    }

    /**
     * As {@link #ModelSession(ModelOptions)}, or with random weights of shape {@code synthetic} built in
     * memory when that is not null (then {@link #file} is null).
     */
    ModelSession(ModelOptions o, String synthetic) throws Exception {
        if (synthetic == null && o.model == null) {
            throw new IllegalArgumentException("missing -m/--model FILE");
        }
        if (synthetic != null && o.model != null) {
            throw new IllegalArgumentException("give either -m/--model FILE or --synthetic NAME, not both");
        }
        if (synthetic != null) {
            SyntheticModels.shape(synthetic); // an unknown name fails here, before anything is built
        }
        AttentionPolicy policy;
        try {
            policy = AttentionPolicy.parse(o.attention);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--attention '" + o.attention + "': " + e.getMessage(), e);
        }
        if (o.maxTokens <= 0) {
            throw new IllegalArgumentException("--max-tokens must be positive, not " + o.maxTokens);
        }
        if (o.ctx <= 0) {
            throw new IllegalArgumentException("--ctx must be positive, not " + o.ctx);
        }
        if (o.labelChannels != null && !java.nio.file.Files.isReadable(o.labelChannels)) {
            throw new IllegalArgumentException("--label-channels " + o.labelChannels + ": no such readable file");
        }
        this.sampler = new Sampler(o.temperature, o.topK, o.topP, o.seed == null ? System.nanoTime() : o.seed);
        this.policy = policy;
        this.denseLayers = o.denseLayers;
        this.densePrompt = o.densePrompt;
        RowPool.useThreads(o.run.threads);
        long start = System.nanoTime();
        GgufFile f = null;
        Arena arena = null;
        AttentionBackend b = null;
        try {
            if (synthetic != null) {
                // A shared arena: the matrix products read the weights from the pool's threads.
                arena = Arena.ofShared();
                System.err.println("building synthetic " + synthetic + " (random Q8_0 weights)...");
                this.model = SyntheticModels.build(synthetic, 1, arena);
                this.tokenizer = SyntheticModels.tokenizer(model.config());
            } else {
                f = GgufFile.open(o.model);
                this.tokenizer = Tokenizer.fromGguf(f);
                this.model = LlamaModel.load(f, System.err);
            }
            b = Backends.open(o.run.backend, o.run.device, o.run.threads);
            this.context = Math.min(o.ctx, model.config().contextLength());
            this.saveLabels = o.saveLabelChannels;
            this.labelFile = o.labelChannels;
            this.smoothKeys = policy.readsFourBitKeys() && !o.noKeySmoothing;
            if (!smoothKeys && policy.selector() != io.twilight4j.policy.SelectorKind.DS) {
                this.decoder = model.newDecoder(b, policy, o.denseLayers, context);
            } else if (!smoothKeys && o.labelChannels != null) {
                this.decoder = model.newDecoder(b, policy, o.denseLayers, context, loadLabels(o.labelChannels));
            }
        } catch (Exception | Error e) {
            if (b != null) {
                b.close();
            }
            if (f != null) {
                f.close();
            }
            if (arena != null) {
                arena.close();
            }
            throw e;
        }
        this.file = f;
        this.weights = arena;
        this.backend = b;
        this.loadNanos = System.nanoTime() - start;
    }

    private static io.twilight4j.kv.LabelChannels loadLabels(java.nio.file.Path file) {
        try {
            return io.twilight4j.kv.LabelChannels.load(file);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("--label-channels " + e.getMessage(), e);
        }
    }

    /** Tokens the cache still has room for. */
    int room() {
        return decoder == null ? context : decoder.maxContext() - decoder.position();
    }

    /**
     * Calibrates on the prompt what the policy needs and makes the decoder: Double Sparsity's label channels (on the
     * whole prompt, unless a label file was given) and the key smoothing (on its first {@link #SMOOTHING_TOKENS}
     * tokens: a sample is enough, and the extra dense pass stays short).
     */
    private void calibrateOn(int[] tokens) {
        io.twilight4j.kv.LabelChannels labels = null;
        if (policy.selector() == io.twilight4j.policy.SelectorKind.DS) {
            labels = labelFile != null ? loadLabels(labelFile) : calibrateLabels(tokens);
        }
        io.twilight4j.kv.KeySmoothing smoothing = null;
        if (smoothKeys) {
            int n = Math.min(tokens.length, SMOOTHING_TOKENS);
            smoothing = model.calibrateKeySmoothing(backend, java.util.Arrays.copyOf(tokens, n));
            System.err.println("calibrated the key smoothing on the prompt's first " + n + " tokens");
        }
        decoder = model.newDecoder(backend, policy, denseLayers, context, labels, smoothing);
    }

    /** Double Sparsity's label channels calibrated on the prompt (and saved where asked). */
    private io.twilight4j.kv.LabelChannels calibrateLabels(int[] tokens) {
        int r = policy.labelChannelsFor(model.config().headDim());
        io.twilight4j.kv.LabelChannels labels = model.calibrateLabelChannels(backend, tokens, r);
        System.err.println("calibrated " + r + " Double Sparsity label channels per KV head on the prompt's "
                + tokens.length + " tokens" + (saveLabels == null ? "" : "; saved to " + saveLabels));
        if (saveLabels != null) {
            try {
                labels.save(saveLabels);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("--save-label-channels " + saveLabels + ": " + e.getMessage(), e);
            }
        }
        return labels;
    }

    /** Runs the prompt tokens through the model; returns the logits after the last one. */
    float[] prompt(int[] tokens) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("the prompt encodes to no tokens");
        }
        if (tokens.length > room()) {
            throw new IllegalArgumentException("prompt of " + tokens.length + " tokens does not fit the " + room()
                    + " tokens left in the context (--ctx, model context length " + model.config().contextLength() + ")");
        }
        // The prompt's time includes the calibration's dense pass, when the first prompt makes one.
        long start = System.nanoTime();
        if (decoder == null) {
            calibrateOn(tokens);
        }
        float[] logits = null;
        decoder.denseOnly(densePrompt);
        // Prompt tokens go one decode step each: a long context's prompt takes minutes, so a long one says how
        // far it got (a null resource is skipped by try-with-resources).
        try (ProgressBar bar = tokens.length < PROMPT_BAR_TOKENS ? null
                : ProgressBars.on(System.err, "prompt", tokens.length, " tokens").build()) {
            for (int t : tokens) {
                logits = decoder.forward(t);
                if (bar != null) {
                    bar.step();
                }
            }
        }
        decoder.denseOnly(false);
        promptNanos += System.nanoTime() - start;
        promptTokens += tokens.length;
        // The budget average covers decode steps only.
        decoder.resetBudget();
        return logits;
    }

    /**
     * Samples up to {@code maxTokens} tokens after {@code logits}, printing each to {@code out} as soon as it
     * completes a character; stops before a token {@code stop} accepts (which is not fed) or when the context is full.
     * Returns the text generated.
     */
    String generate(float[] logits, int maxTokens, IntPredicate stop, PrintStream out) {
        long start = System.nanoTime();
        Utf8Stream utf8 = new Utf8Stream();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < maxTokens; i++) {
            int token = sampler.sample(logits);
            evalTokens++;
            if (stop.test(token)) {
                break;
            }
            String piece = utf8.push(tokenizer.decodeBytes(token));
            text.append(piece);
            out.print(piece);
            out.flush();
            if (i + 1 == maxTokens || room() == 0) {
                break;
            }
            logits = decoder.forward(token);
        }
        String rest = utf8.flush();
        text.append(rest);
        out.print(rest);
        out.flush();
        evalNanos += System.nanoTime() - start;
        budgetSum += decoder.meanAttentionBudget();
        budgetTurns++;
        return text.toString();
    }

    /**
     * Runs the decode benchmark {@code runs} times ({@code warmup} then {@code tokens} random tokens each, on a
     * fresh decoder with this session's policy, after a warm-up until the JIT is done) and returns every run's result.
     */
    List<DecodeBenchmark.Result> bench(int warmup, int tokens, int runs) {
        List<DecodeBenchmark.Result> results = new ArrayList<>();
        DecodeBenchmark.warmUp(model, backend, policy, denseLayers, Math.max(1, warmup), 12);
        for (int r = 0; r < runs; r++) {
            results.add(DecodeBenchmark.run(model, backend, policy, denseLayers, warmup, tokens, r));
        }
        return results;
    }

    /** The stats line, with Ollama's names. */
    String stats() {
        double evalSeconds = evalNanos / 1e9;
        return String.format(Locale.ROOT, "load duration %s, prompt eval count %d token(s), prompt eval duration %s, "
                        + "eval count %d token(s), eval duration %s, eval rate %.2f tokens/s, mean attention budget %.1f tokens",
                duration(loadNanos), promptTokens, duration(promptNanos), evalTokens, duration(evalNanos),
                evalSeconds > 0 ? evalTokens / evalSeconds : 0, budgetTurns == 0 ? 0 : budgetSum / budgetTurns);
    }

    private static String duration(long nanos) {
        return nanos >= 1_000_000_000L ? String.format(Locale.ROOT, "%.2fs", nanos / 1e9) : String.format(Locale.ROOT, "%.2fms", nanos / 1e6);
    }

    @Override
    public void close() {
        if (decoder != null) {
            decoder.close();
        }
        backend.close();
        if (file != null) {
            file.close();
        }
        if (weights != null) {
            weights.close();
        }
    }
}
