package io.twilight4j.llama;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.DecodeAttention;
import io.twilight4j.backend.DecodeShape;
import io.twilight4j.backend.OutputError;
import io.twilight4j.backend.StepStats;
import io.twilight4j.kv.KvCache;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.LabelChannels;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.policy.SelectorKind;
import io.twilight4j.tensor.MatvecGroup;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import io.twilight4j.tensor.QuantMatrix;

/**
 * One sequence being decoded: the engine KV cache, the planned attention pipelines, and the
 * preallocated activations the forward pass reuses for every token. Prompt tokens go through the
 * same one-token step as generated ones.
 */
public final class LlamaDecoder implements AutoCloseable {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private final LlamaConfig c;
    private final LlamaWeights w;
    private final KvCache cache;
    private final DecodeAttention densePlan;
    private final DecodeAttention policyPlan;
    private final int denseLayers;
    private final int maxContext;
    private final int[] seqs;
    private final float[] ropeInvFreq;
    // Activations, allocated once: x residual stream, xb normed input, q/k/v projections, att
    // attention output, hb/hb2 feed-forward hidden, logits the classifier output.
    private final float[] x, xb, xb2, q, k, v, att, hb, hb2, logits;
    // Per layer: the Q, K, V projections and the gate, up projections, each as one parallel
    // product; the output and down projections and the classifier alone. Planned once per decoder,
    // so a step quantizes its inputs into buffers it already has.
    private final MatvecGroup[] qkv, gateUp, wo, down;
    private final MatvecGroup classifier;
    private double keptSum;
    private long keptSteps;
    // With measureAttentionError: dense attention's output of the same layer, and the errors against it.
    private float[] denseAtt;
    private double errorMax;
    /** Per layer: the errors' sum and the steps measured, since the last reset (their totals give the mean). */
    private final double[] layerErrorSum;
    private final long[] layerErrorSteps;

    /**
     * Sees each layer's query and new key (after RoPE) as they are attended; used to calibrate Double Sparsity's
     * label channels and the key smoothing.
     */
    @FunctionalInterface
    interface StepRecorder {
        void record(int layer, float[] q, float[] k);
    }

    private StepRecorder recorder;
    /** While set, every layer attends densely (a dense prefill before sparse decode). */
    private boolean denseOnly;

    LlamaDecoder(LlamaModel model, AttentionBackend backend, AttentionPolicy policy, int denseLayers, int maxContext,
                 LabelChannels labels, KeySmoothing smoothing) {
        this.c = model.config();
        this.w = model.weights();
        if (policy.selector() == SelectorKind.DS && labels == null) {
            throw new IllegalArgumentException("--attention '" + policy + "': Double Sparsity needs calibrated label channels "
                    + "(--label-channels FILE, or let generate calibrate them on the prompt)");
        }
        if (labels != null && labels.count() != policy.labelChannelsFor(c.headDim())) {
            throw new IllegalArgumentException("--attention '" + policy + "' uses " + policy.labelChannelsFor(c.headDim())
                    + " label channels, the calibrated file has " + labels.count());
        }
        if (denseLayers < 0) {
            throw new IllegalArgumentException("--dense-layers must be >= 0, got " + denseLayers);
        }
        if (maxContext <= 0) {
            throw new IllegalArgumentException("context length must be positive, got " + maxContext);
        }
        this.denseLayers = denseLayers;
        this.maxContext = maxContext;
        this.cache = backend.createCache(KvShape.forTokens(c.layers(), c.kvHeads(), c.headDim(), maxContext,
                labels == null ? 0 : labels.count()), labels, smoothing);
        DecodeShape shape = new DecodeShape(c.heads(), 1, maxContext);
        this.densePlan = backend.plan(cache, AttentionPolicy.dense(), shape);
        this.policyPlan = policy.isDense() ? densePlan : backend.plan(cache, policy, shape);
        this.seqs = new int[] {cache.pager().newSequence()};
        this.ropeInvFreq = c.ropeInverseFrequencies(w.ropeFreqFactors());
        x = new float[c.dim()];
        xb = new float[c.dim()];
        xb2 = new float[c.dim()];
        q = new float[c.dim()];
        k = new float[c.kvDim()];
        v = new float[c.kvDim()];
        att = new float[c.dim()];
        hb = new float[c.hiddenDim()];
        hb2 = new float[c.hiddenDim()];
        logits = new float[c.vocabSize()];
        qkv = new MatvecGroup[c.layers()];
        gateUp = new MatvecGroup[c.layers()];
        wo = new MatvecGroup[c.layers()];
        down = new MatvecGroup[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            qkv[l] = new MatvecGroup(new QuantMatrix[] {w.wq()[l], w.wk()[l], w.wv()[l]}, new float[][] {q, k, v});
            gateUp[l] = new MatvecGroup(new QuantMatrix[] {w.gate()[l], w.up()[l]}, new float[][] {hb, hb2});
            wo[l] = new MatvecGroup(new QuantMatrix[] {w.wo()[l]}, new float[][] {xb2});
            down[l] = new MatvecGroup(new QuantMatrix[] {w.down()[l]}, new float[][] {xb2});
        }
        classifier = new MatvecGroup(new QuantMatrix[] {w.output()}, new float[][] {logits});
        layerErrorSum = new double[c.layers()];
        layerErrorSteps = new long[c.layers()];
    }

    /**
     * While {@code on}, every layer attends densely, whatever the policy: the setting of the Twilight paper's
     * long-context evaluations, where the prompt is prefilled densely and only decode steps are sparse.
     */
    public void denseOnly(boolean on) {
        this.denseOnly = on;
    }

    /** Calls {@code r} with every layer's query and key from now on (null: stop). */
    void record(StepRecorder r) {
        this.recorder = r;
    }

    /** Whether this decoder's cache smooths its 4-bit keys ({@link KeySmoothing}). */
    public boolean smoothsKeys() {
        return cache.keySmoothing() != null;
    }

    /** Tokens processed so far (the position of the next token). */
    public int position() {
        return cache.pager().length(seqs[0]);
    }

    /** Most tokens this decoder holds. */
    public int maxContext() {
        return maxContext;
    }

    /**
     * Runs {@code token} at the next position and returns the logits for the token after it
     * (the returned array is reused by the next call).
     */
    public float[] forward(int token) {
        if (token < 0 || token >= c.vocabSize()) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, " + c.vocabSize() + ")");
        }
        if (position() >= maxContext) {
            throw new IllegalStateException("context full: " + maxContext + " tokens");
        }
        int pos = cache.pager().append(seqs[0], 1);
        w.tokenEmbedding().dequantizeRow(token, x);
        for (int l = 0; l < c.layers(); l++) {
            // Attention block: RMSNorm, then Q, K, V projections.
            rmsNorm(xb, x, w.attnNorm()[l]);
            qkv[l].matvec(xb);
            // RoPE on adjacent channel pairs (llama.cpp NORM mode, the layout of GGUF llama weights).
            rope(q, c.heads(), pos);
            rope(k, c.kvHeads(), pos);
            // The new key and value go into the engine's cache; the plan attends over all of them.
            cache.write(l, seqs[0], pos, k, v, 1);
            if (recorder != null) {
                recorder.record(l, q, k);
            }
            boolean dense = l < denseLayers || denseOnly;
            StepStats stats = (dense ? densePlan : policyPlan).run(l, seqs, q, att);
            if (!dense) {
                keptSum += stats.meanKept();
                keptSteps++;
                if (denseAtt != null) {
                    densePlan.run(l, seqs, q, denseAtt);
                    double e = OutputError.relative(att, denseAtt, att.length);
                    errorMax = Math.max(errorMax, e);
                    layerErrorSum[l] += e;
                    layerErrorSteps[l]++;
                }
            }
            // Output projection and residual.
            wo[l].matvec(att);
            add(x, xb2);
            // Feed-forward block: RMSNorm, SwiGLU (silu(gate) * up), down projection, residual.
            rmsNorm(xb, x, w.ffnNorm()[l]);
            gateUp[l].matvec(xb);
            swiglu(hb, hb2);
            down[l].matvec(hb);
            add(x, xb2);
        }
        // Final norm and classifier.
        rmsNorm(x, x, w.outputNorm());
        classifier.matvec(x);
        return logits;
    }

    /**
     * Mean tokens attended per query head in the policy layers (layers >= denseLayers) since the
     * last {@link #resetBudget}; 0 when no such layer ran.
     */
    public double meanAttentionBudget() {
        return keptSteps == 0 ? 0 : keptSum / keptSteps;
    }

    /**
     * Whether every policy layer also attends densely over the same cache and query from now on, to record
     * the relative error of the policy's output against dense's ({@link OutputError}: bench attention's
     * rel_err, on this model's own queries and keys). For accuracy tools: it adds a dense attention per layer.
     */
    public void measureAttentionError(boolean on) {
        denseAtt = on && policyPlan != densePlan ? new float[att.length] : null;
    }

    /** Mean relative attention error over the policy layers' steps since {@link #resetBudget} (0 when not measured). */
    public double meanAttentionError() {
        double sum = 0;
        long steps = 0;
        for (int l = 0; l < layerErrorSum.length; l++) {
            sum += layerErrorSum[l];
            steps += layerErrorSteps[l];
        }
        return steps == 0 ? 0 : sum / steps;
    }

    /** Largest relative attention error of one policy layer's step since {@link #resetBudget}. */
    public double maxAttentionError() {
        return errorMax;
    }

    /**
     * Mean relative attention error of each layer since {@link #resetBudget}: which layers tolerate the policy
     * (a guide for {@code denseLayers}); 0 for layers not measured (dense ones).
     */
    public double[] attentionErrorByLayer() {
        double[] mean = new double[layerErrorSum.length];
        for (int l = 0; l < mean.length; l++) {
            mean[l] = layerErrorSteps[l] == 0 ? 0 : layerErrorSum[l] / layerErrorSteps[l];
        }
        return mean;
    }

    /** Starts new budget and attention-error averages (e.g. after the prompt, to report decode steps only). */
    public void resetBudget() {
        keptSum = 0;
        keptSteps = 0;
        errorMax = 0;
        java.util.Arrays.fill(layerErrorSum, 0);
        java.util.Arrays.fill(layerErrorSteps, 0);
    }

    private void rmsNorm(float[] out, float[] in, float[] weight) {
        double ss = 0;
        for (float f : in) {
            ss += f * f;
        }
        float inv = (float) (1 / Math.sqrt(ss / in.length + c.rmsEps()));
        for (int i = 0; i < in.length; i++) {
            out[i] = weight[i] * in[i] * inv;
        }
    }

    private void rope(float[] vec, int heads, int pos) {
        int hd = c.headDim();
        for (int i = 0; i < ropeInvFreq.length; i++) {
            double angle = pos * (double) ropeInvFreq[i];
            float cos = (float) Math.cos(angle);
            float sin = (float) Math.sin(angle);
            for (int h = 0; h < heads; h++) {
                int j = h * hd + 2 * i;
                float a = vec[j];
                float b = vec[j + 1];
                vec[j] = a * cos - b * sin;
                vec[j + 1] = a * sin + b * cos;
            }
        }
    }

    /**
     * gate = silu(gate) * up in place, silu(g) = g / (1 + e^-g). Vectors: a scalar Math.exp per element
     * cost ~2.6 ms a token on a 1B model (8192 x 16 layers), a few percent of a decode step.
     */
    private static void swiglu(float[] gate, float[] up) {
        int i = 0;
        for (int bound = F.loopBound(gate.length); i < bound; i += F.length()) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            g.div(g.neg().lanewise(VectorOperators.EXP).add(1f)).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < gate.length; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    private static void add(float[] acc, float[] delta) {
        for (int i = 0; i < acc.length; i++) {
            acc[i] += delta[i];
        }
    }

    @Override
    public void close() {
        if (policyPlan != densePlan) {
            policyPlan.close();
        }
        densePlan.close();
        cache.close();
    }
}
