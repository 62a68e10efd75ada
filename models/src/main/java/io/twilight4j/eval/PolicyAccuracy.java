package io.twilight4j.eval;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.LabelChannels;
import io.twilight4j.llama.LlamaDecoder;
import io.twilight4j.llama.LlamaModel;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.policy.SelectorKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.IntConsumer;

/**
 * Teacher-forced quality of attention policies on a model: the model reads a text one token a step (as
 * decode does, each step attending over everything before it) with dense attention and with every policy
 * in lockstep. From step {@code start} on, each step's next-token distribution is scored against the
 * text's next token (perplexity) and against dense's distribution (KL divergence, top-1 agreement). The
 * bench's rel_error is about one attention output on a synthetic context; this is what a policy costs a
 * real model's predictions. Each policy's decoder also attends densely in its policy layers, over its own cache
 * and queries, to report bench attention's rel_err on the model's own attention (the per-layer error,
 * before it compounds into the predictions).
 */
public final class PolicyAccuracy {

    /**
     * One policy's scores over the scored steps; dense's row comes first, with KL 0 and agreement 1.
     * {@code keySmoothing}: whether the policy's cache smoothed its 4-bit keys.
     */
    public record Row(String policy, int scored, double perplexity, double perplexityRatio, double meanKl, double maxKl,
                      double top1Agreement, double meanBudget, double meanAttentionError, double maxAttentionError,
                      double[] attentionErrorByLayer, boolean keySmoothing) {

        /** The row as one JSON object. */
        public String toJson() {
            return String.format(Locale.ROOT,
                    "{\"policy\":\"%s\",\"scored\":%d,\"perplexity\":%.6f,\"perplexity_vs_dense\":%.6f,\"kl_mean\":%.6e,"
                            + "\"kl_max\":%.6e,\"top1_agreement\":%.6f,\"budget_mean\":%.2f,\"attention_rel_err_mean\":%.6e,"
                            + "\"attention_rel_err_max\":%.6e,\"attention_rel_err_by_layer\":[%s],\"key_smoothing\":%b}",
                    policy, scored, perplexity, perplexityRatio, meanKl, maxKl, top1Agreement, meanBudget, meanAttentionError,
                    maxAttentionError, Arrays.stream(attentionErrorByLayer).mapToObj(e -> String.format(Locale.ROOT, "%.4e", e))
                            .collect(java.util.stream.Collectors.joining(",")), keySmoothing);
        }
    }

    private PolicyAccuracy() {
    }

    /**
     * Reads {@code tokens} with dense attention and with each of {@code policies} (layers below
     * {@code denseLayers} attend densely under a policy, as in {@code generate}) and scores the predictions of
     * tokens {@code start + 1 ..} from the steps {@code start ..}. A Double Sparsity policy calibrates its label
     * channels, and policies that read the 4-bit keys the key smoothing, on the unscored tokens {@code 0..start}. {@code progress} hears each step's token count (1).
     */
    public static List<Row> run(LlamaModel model, AttentionBackend backend, List<AttentionPolicy> policies, int denseLayers,
                                int[] tokens, int start, IntConsumer progress) {
        return run(model, backend, policies, denseLayers, tokens, start, false, progress);
    }

    /**
     * As above; with {@code densePrefix}, the steps before {@code start} attend densely under every policy (a
     * dense prefill of the context, sparse decode of the scored steps, as the Twilight paper evaluates).
     */
    public static List<Row> run(LlamaModel model, AttentionBackend backend, List<AttentionPolicy> policies, int denseLayers,
                                int[] tokens, int start, boolean densePrefix, IntConsumer progress) {
        return run(model, backend, policies, denseLayers, tokens, start, densePrefix, true, progress);
    }

    /**
     * As above; with {@code keySmoothing}, policies that read the 4-bit keys (Quest, Twilight's estimate) read a cache whose key
     * smoothing is calibrated on the unscored tokens {@code 0..start} (none when {@code start} is 0).
     */
    public static List<Row> run(LlamaModel model, AttentionBackend backend, List<AttentionPolicy> policies, int denseLayers,
                                int[] tokens, int start, boolean densePrefix, boolean keySmoothing, IntConsumer progress) {
        int n = tokens.length;
        if (n < 2) {
            throw new IllegalArgumentException("the text has " + n + " token" + (n == 1 ? "" : "s")
                    + "; scoring needs at least 2 (a token and the one after it)");
        }
        if (start < 0 || start > n - 2) {
            throw new IllegalArgumentException("start " + start + " is outside [0, " + (n - 2) + "]: the text has " + n
                    + " tokens and the last step scored predicts the last token");
        }
        int context = model.config().contextLength();
        if (n > context) {
            throw new IllegalArgumentException("the text has " + n + " tokens, more than the model's context length "
                    + context);
        }
        List<AttentionPolicy> sparse = policies.stream().filter(p -> !p.isDense()).distinct().toList();
        int vocab = model.config().vocabSize();
        List<LlamaDecoder> decoders = new ArrayList<>();
        try {
            // Dense with no dense-only layers: every layer counts its context as the budget.
            decoders.add(model.newDecoder(backend, AttentionPolicy.dense(), 0, n));
            boolean fourBit = sparse.stream().anyMatch(AttentionPolicy::readsFourBitKeys);
            KeySmoothing smoothing = keySmoothing && fourBit && start > 0
                    ? model.calibrateKeySmoothing(backend, Arrays.copyOf(tokens, start)) : null;
            for (AttentionPolicy p : sparse) {
                LlamaDecoder d = model.newDecoder(backend, p, denseLayers, n, labelsFor(model, backend, p, tokens, start),
                        p.readsFourBitKeys() ? smoothing : null);
                decoders.add(d);
                d.measureAttentionError(true);
            }
            NextTokenStats[] stats = new NextTokenStats[decoders.size()];
            Arrays.setAll(stats, i -> new NextTokenStats());
            NextTokenStats.Reference dense = new NextTokenStats.Reference(vocab);
            double[] other = new double[vocab];
            for (LlamaDecoder d : decoders) {
                d.denseOnly(densePrefix && start > 0);
            }
            for (int step = 0; step < n - 1; step++) {
                if (step == start) {
                    for (LlamaDecoder d : decoders) {
                        d.resetBudget();
                        d.denseOnly(false);
                    }
                }
                for (int d = 0; d < decoders.size(); d++) {
                    float[] logits = decoders.get(d).forward(tokens[step]);
                    if (step < start) {
                        continue;
                    }
                    checkFinite(logits, d == 0 ? "dense" : sparse.get(d - 1).toString(), step);
                    if (d == 0) {
                        dense.set(logits);
                        stats[0].add(dense.logProbs, dense, tokens[step + 1]);
                    } else {
                        NextTokenStats.logSoftmax(logits, other);
                        stats[d].add(other, dense, tokens[step + 1]);
                    }
                }
                progress.accept(1);
            }
            List<Row> rows = new ArrayList<>();
            double densePerplexity = stats[0].perplexity();
            for (int d = 0; d < decoders.size(); d++) {
                NextTokenStats s = stats[d];
                LlamaDecoder decoder = decoders.get(d);
                rows.add(new Row(d == 0 ? "dense" : sparse.get(d - 1).toString(), s.steps(), s.perplexity(),
                        s.perplexity() / densePerplexity, s.meanKl(), s.maxKl(), s.top1Agreement(),
                        decoder.meanAttentionBudget(), decoder.meanAttentionError(), decoder.maxAttentionError(),
                        decoder.attentionErrorByLayer(), decoder.smoothsKeys()));
            }
            return rows;
        } finally {
            decoders.forEach(LlamaDecoder::close);
        }
    }

    /** Double Sparsity's label channels calibrated on the unscored prefix; null for other policies. */
    private static LabelChannels labelsFor(LlamaModel model, AttentionBackend backend, AttentionPolicy p, int[] tokens,
                                           int start) {
        if (p.selector() != SelectorKind.DS) {
            return null;
        }
        if (start == 0) {
            throw new IllegalArgumentException("policy '" + p + "' calibrates its label channels on the unscored tokens "
                    + "before start: give start > 0");
        }
        return model.calibrateLabelChannels(backend, Arrays.copyOf(tokens, start), p.labelChannelsFor(model.config().headDim()));
    }

    private static void checkFinite(float[] logits, String policy, int step) {
        for (float l : logits) {
            if (!Float.isFinite(l)) {
                throw new IllegalStateException("policy '" + policy + "': a logit at step " + step + " is " + l);
            }
        }
    }

    /** Each policy's mean attention rel_err per layer, a column per layer (dense layers show 0). */
    public static String layerTable(List<Row> rows) {
        int layers = rows.get(0).attentionErrorByLayer().length;
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-30s", "attention rel_err by layer"));
        for (int l = 0; l < layers; l++) {
            sb.append(String.format(Locale.ROOT, " %8d", l));
        }
        sb.append('\n');
        for (Row r : rows.subList(1, rows.size())) {
            sb.append(String.format(Locale.ROOT, "%-30s", r.policy()));
            for (double e : r.attentionErrorByLayer()) {
                sb.append(String.format(Locale.ROOT, " %8.2e", e));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** The rows as a table, one line each. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-30s %7s %11s %9s %11s %11s %8s %10s %19s%n",
                "policy", "scored", "perplexity", "vs dense", "KL mean", "KL max", "top-1", "budget", "att rel_err mean/max"));
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "%-30s %7d %11.4f %8.4fx %11.3e %11.3e %7.2f%% %10.1f %9.2e/%.2e%n",
                    r.policy(), r.scored(), r.perplexity(), r.perplexityRatio(), r.meanKl(), r.maxKl(), 100 * r.top1Agreement(),
                    r.meanBudget(), r.meanAttentionError(), r.maxAttentionError()));
        }
        return sb.toString();
    }
}
