package io.twilight4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.gguf.SharedModels;
import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.llama.Llama2cReference;
import io.twilight4j.llama.LlamaDecoder;
import io.twilight4j.llama.LlamaModel;
import io.twilight4j.llama.Stories260K;
import io.twilight4j.policy.AttentionPolicy;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The accuracy harness on the real stories260K model, against a float64 forward pass and a second computation of its scores. */
class PolicyAccuracyTest {

    private static final String TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
            + "One day, she saw a big red ball under a tree. She ran to the ball and picked it up. Her friend Tom came to play "
            + "with her. They threw the ball high in the sky and laughed. Then the ball fell into the pond. Lily was sad, but Tom "
            + "had an idea. He found a long stick and pulled the ball out of the water. Lily hugged Tom and said thank you. "
            + "They played with the ball until the sun went down, and then they went home happy.";
    private static Stories260K stories;
    private static LlamaModel model;
    private static int[] tokens;
    private static AttentionBackend backend;

    @BeforeAll
    static void load() throws IOException {
        stories = Stories260K.open();
        model = stories.model;
        backend = stories.backend;
        tokens = stories.tokenizer.encode(TEXT, true, false);
        // Compiled code sums vector lanes and takes exp in another order than the interpreter: a cold
        // JVM's first steps differ from later ones in the last bits (~1e-7 of a logit). Warm every path
        // once, so the second computation below meets the same code the harness ran.
        for (String p : new String[] {"dense", "quest:16", "full+twilight:0.9"}) {
            try (LlamaDecoder d = model.newDecoder(backend, AttentionPolicy.parse(p), 0, tokens.length)) {
                for (int t : tokens) {
                    d.forward(t);
                }
            }
        }
    }

    @AfterAll
    static void close() {
        if (stories != null) {
            stories.close();
        }
    }

    @Test
    void densePerplexityMatchesTheFloat64Reference() throws IOException {
        int start = 5;
        AtomicInteger steps = new AtomicInteger();
        List<PolicyAccuracy.Row> rows = PolicyAccuracy.run(model, backend, List.of(), 2, tokens, start, steps::addAndGet);
        assertEquals(1, rows.size());
        PolicyAccuracy.Row dense = rows.get(0);
        assertEquals(tokens.length - 1, steps.get(), "progress hears every step");
        assertEquals(tokens.length - 1 - start, dense.scored());
        // The reference: llama2.c's checkpoint in float64, probabilities by plain exp and sum.
        Llama2cReference ref = new Llama2cReference(SharedModels.require("stories260K.bin"));
        double nll = 0;
        double meanContext = 0;
        for (int step = 0; step < tokens.length - 1; step++) {
            double[] logits = ref.forward(tokens[step]);
            if (step >= start) {
                double z = 0;
                for (double l : logits) {
                    z += Math.exp(l);
                }
                nll += Math.log(z) - logits[tokens[step + 1]];
                meanContext += step + 1;
            }
        }
        double refPerplexity = Math.exp(nll / dense.scored());
        // fp16 K/V moves logits by ~1e-3 relative (LlamaDecoderTest); a step scored against the wrong
        // token (an off-by-one) would move the perplexity by a factor, not a percent.
        assertEquals(Math.log(refPerplexity), Math.log(dense.perplexity()), 1e-2,
                "perplexity " + dense.perplexity() + ", float64 reference " + refPerplexity);
        assertEquals(1.0, dense.perplexityRatio());
        assertEquals(0.0, dense.meanKl());
        assertEquals(1.0, dense.top1Agreement());
        assertEquals(meanContext / dense.scored(), dense.meanBudget(), 1e-9, "dense attends its whole context");
        assertEquals(0.0, dense.meanAttentionError());
    }

    @Test
    void aPolicyThatKeepsEveryTokenScoresAsDense() {
        List<PolicyAccuracy.Row> rows = PolicyAccuracy.run(model, backend, List.of(AttentionPolicy.parse("oracle:4096")), 0,
                tokens, 0, n -> { });
        PolicyAccuracy.Row all = rows.get(1);
        assertTrue(all.meanKl() < 1e-9, "KL " + all.meanKl());
        assertEquals(1.0, all.top1Agreement());
        assertEquals(1.0, all.perplexityRatio(), 1e-5);
        assertEquals(rows.get(0).meanBudget(), all.meanBudget(), 1e-9);
        // Attention over every token in another order than dense: float rounding only.
        assertTrue(all.maxAttentionError() < 1e-5, "attention error " + all.maxAttentionError());
    }

    /**
     * With and without key smoothing (the harness calibrates it on the tokens before start for policies that
     * estimate with the 4-bit keys; the second computation does so by hand).
     */
    @ParameterizedTest(name = "key smoothing {0}")
    @ValueSource(booleans = {true, false})
    void pruningPoliciesScoreAsASecondComputationDoes(boolean keySmoothing) {
        int start = 20;
        for (String name : new String[] {"quest:16", "full+twilight:0.9"}) {
            AttentionPolicy policy = AttentionPolicy.parse(name);
            PolicyAccuracy.Row row = PolicyAccuracy.run(model, backend, List.of(policy), 0, tokens, start, false, keySmoothing,
                    n -> { }).get(1);
            KeySmoothing smoothing = keySmoothing && policy.readsFourBitKeys()
                    ? model.calibrateKeySmoothing(backend, java.util.Arrays.copyOf(tokens, start)) : null;
            // Two decoders by hand, distributions normalized directly (not through log-softmax).
            double nll = 0;
            double kl = 0;
            double klMax = 0;
            int agreed = 0;
            try (LlamaDecoder dense = model.newDecoder(backend, AttentionPolicy.dense(), 0, tokens.length);
                 LlamaDecoder sparse = model.newDecoder(backend, policy, 0, tokens.length, null, smoothing)) {
                for (int step = 0; step < tokens.length - 1; step++) {
                    double[] p = probabilities(dense.forward(tokens[step]));
                    double[] s = probabilities(sparse.forward(tokens[step]));
                    if (step < start) {
                        continue;
                    }
                    nll -= Math.log(s[tokens[step + 1]]);
                    double k = 0;
                    for (int i = 0; i < p.length; i++) {
                        k += p[i] * Math.log(p[i] / s[i]);
                    }
                    kl += k;
                    klMax = Math.max(klMax, k);
                    agreed += NextTokenStats.argmax(p) == NextTokenStats.argmax(s) ? 1 : 0;
                }
            }
            int scored = tokens.length - 1 - start;
            assertEquals(scored, row.scored());
            // Tolerances: the two computations' rounding (and any last-bit difference the JIT leaves), far
            // below what a step scored against the wrong token or the KL taken the other way round moves.
            // (A JIT tier change can flip one top-p decision between the two runs: runs of one build agree to ~1e-4.)
            assertEquals(Math.exp(nll / scored), row.perplexity(), 1e-3 * row.perplexity(), name);
            assertEquals(kl / scored, row.meanKl(), 1e-6 + 2e-2 * kl / scored, name);
            assertEquals(klMax, row.maxKl(), 1e-6 + 5e-2 * klMax, name);
            assertEquals((double) agreed / scored, row.top1Agreement(), 1e-12, name);
            // Every layer measured as often: the overall mean is the mean of the layers' means.
            double[] byLayer = row.attentionErrorByLayer();
            assertEquals(model.config().layers(), byLayer.length);
            assertEquals(row.meanAttentionError(), java.util.Arrays.stream(byLayer).average().orElseThrow(), 1e-12, name);
            // The policy's attention outputs differ from dense's over the same cache and queries.
            assertTrue(row.meanAttentionError() > 1e-3 && row.maxAttentionError() >= row.meanAttentionError(),
                    name + ": attention error " + row.meanAttentionError() + ", max " + row.maxAttentionError());
            // The policy really prunes and it shows: fewer tokens than dense, a measurable divergence.
            assertTrue(row.meanKl() > 1e-6 && row.maxKl() >= row.meanKl(), name + ": KL " + row.meanKl() + ", max " + row.maxKl());
            double denseBudget = (start + 1 + tokens.length - 1) / 2.0;
            assertTrue(row.meanBudget() < 0.9 * denseBudget, name + ": budget " + row.meanBudget() + ", dense " + denseBudget);
        }
    }

    /**
     * What the smoothing is for, on a real model: calibrated on the first 16 tokens' keys and queries, Twilight's attention
     * outputs at p = 0.99 are closer to dense's (mean rel_err 4.5e-2 -> 2.0e-2 on the longer story of
     * bench/results/cpu-2026-12-08-session30) and its predictions too (KL against dense).
     */
    @Test
    void keySmoothingBringsTwilightCloserToDense() {
        AttentionPolicy policy = AttentionPolicy.parse("full+twilight:0.99");
        PolicyAccuracy.Row plain = PolicyAccuracy.run(model, backend, List.of(policy), 0, tokens, 16, false, false, n -> { }).get(1);
        PolicyAccuracy.Row smoothed = PolicyAccuracy.run(model, backend, List.of(policy), 0, tokens, 16, false, true, n -> { }).get(1);
        assertTrue(smoothed.meanAttentionError() < 0.8 * plain.meanAttentionError(),
                "attention rel_err smoothed " + smoothed.meanAttentionError() + " vs plain " + plain.meanAttentionError());
        assertTrue(smoothed.meanKl() < plain.meanKl(), "KL smoothed " + smoothed.meanKl() + " vs plain " + plain.meanKl());
        assertTrue(smoothed.keySmoothing() && !plain.keySmoothing());
        // Only policies that read the 4-bit keys (Quest's bounds, Twilight's estimate) get a smoothed cache; and none
        // without tokens to calibrate on.
        List<PolicyAccuracy.Row> rows = PolicyAccuracy.run(model, backend, List.of(AttentionPolicy.parse("quest:16"),
                AttentionPolicy.parse("full+topp:0.9"), AttentionPolicy.parse("oracle:16"), policy), 0, tokens, 16, false, true,
                n -> { });
        assertEquals(List.of(false, true, false, false, true), rows.stream().map(PolicyAccuracy.Row::keySmoothing).toList());
        assertTrue(!PolicyAccuracy.run(model, backend, List.of(policy), 0, tokens, 0, false, true, n -> { }).get(1).keySmoothing());
    }

    /**
     * A dense prefix: a policy decoder with every layer dense gives dense's logits, and the harness's
     * last scored step, alone, is what that decoder gives once the policy takes over.
     */
    @Test
    void aDensePrefixIsDenseUntilTheScoredSteps() {
        AttentionPolicy policy = AttentionPolicy.parse("quest:16+twilight:0.9");
        int start = tokens.length - 2;
        double kl;
        double nll;
        try (LlamaDecoder dense = model.newDecoder(backend, AttentionPolicy.dense(), 0, tokens.length);
             LlamaDecoder sparse = model.newDecoder(backend, policy, 0, tokens.length)) {
            sparse.denseOnly(true);
            for (int step = 0; step < start; step++) {
                float[] a = dense.forward(tokens[step]).clone();
                float[] b = sparse.forward(tokens[step]);
                // Equal but for the last bits a JIT tier change between the two calls leaves (a sparse step
                // moves these logits by 1e-2 and more).
                org.junit.jupiter.api.Assertions.assertArrayEquals(a, b, 1e-4f, "step " + step + " of the dense prefix");
            }
            sparse.denseOnly(false);
            double[] p = probabilities(dense.forward(tokens[start]));
            double[] s = probabilities(sparse.forward(tokens[start]));
            nll = -Math.log(s[tokens[start + 1]]);
            double k = 0;
            for (int i = 0; i < p.length; i++) {
                k += p[i] * Math.log(p[i] / s[i]);
            }
            kl = k;
        }
        // Without key smoothing, as the decoders above: this test is about the dense prefix.
        PolicyAccuracy.Row row = PolicyAccuracy.run(model, backend, List.of(policy), 0, tokens, start, true, false, n -> { }).get(1);
        assertEquals(1, row.scored());
        // One step, so the last bits the JIT leaves are not averaged out; a sparse prefix moves it by far more.
        assertEquals(Math.exp(nll), row.perplexity(), 1e-3 * row.perplexity());
        assertEquals(kl, row.meanKl(), 1e-6 + 5e-2 * kl);
        assertTrue(kl > 0, "the policy moves the last step: KL " + kl);
        PolicyAccuracy.Row sparseFromStart = PolicyAccuracy.run(model, backend, List.of(policy), 0, tokens, start, false, false,
                n -> { }).get(1);
        assertTrue(Math.abs(sparseFromStart.meanKl() - row.meanKl()) > 0.2 * row.meanKl(), "a sparse prefix changes the scored step: KL "
                + sparseFromStart.meanKl() + " against " + row.meanKl());
    }

    @Test
    void denseLayersAreNotMeasured() {
        PolicyAccuracy.Row row = PolicyAccuracy.run(model, backend, List.of(AttentionPolicy.parse("quest:16")), 2, tokens, 10,
                n -> { }).get(1);
        double[] byLayer = row.attentionErrorByLayer();
        assertEquals(0.0, byLayer[0]);
        assertEquals(0.0, byLayer[1]);
        for (int l = 2; l < byLayer.length; l++) {
            assertTrue(byLayer[l] > 1e-3, "layer " + l + ": " + byLayer[l]);
        }
        String json = row.toJson();
        assertTrue(json.contains("\"attention_rel_err_by_layer\":[0.0000e+00,0.0000e+00,"), json);
    }

    @Test
    void badInputNamesTheProblem() {
        var one = assertThrows(IllegalArgumentException.class,
                () -> PolicyAccuracy.run(model, backend, List.of(), 2, new int[] {1}, 0, n -> { }));
        assertTrue(one.getMessage().contains("1 token;"), one.getMessage());
        var start = assertThrows(IllegalArgumentException.class,
                () -> PolicyAccuracy.run(model, backend, List.of(), 2, tokens, tokens.length - 1, n -> { }));
        assertTrue(start.getMessage().contains("start " + (tokens.length - 1) + " is outside [0, " + (tokens.length - 2) + "]"),
                start.getMessage());
        var ds = assertThrows(IllegalArgumentException.class,
                () -> PolicyAccuracy.run(model, backend, List.of(AttentionPolicy.parse("ds:16:4")), 2, tokens, 0, n -> { }));
        assertTrue(ds.getMessage().contains("ds:16:4") && ds.getMessage().contains("start > 0"), ds.getMessage());
        int context = model.config().contextLength();
        var longText = assertThrows(IllegalArgumentException.class,
                () -> PolicyAccuracy.run(model, backend, List.of(), 2, new int[context + 1], 0, n -> { }));
        assertTrue(longText.getMessage().contains("context length " + context), longText.getMessage());
    }

    @Test
    void doubleSparsityCalibratesOnThePrefix() {
        List<PolicyAccuracy.Row> rows = PolicyAccuracy.run(model, backend,
                List.of(AttentionPolicy.parse("ds:32:4+twilight:0.95")), 0, tokens, 40, n -> { });
        PolicyAccuracy.Row ds = rows.get(1);
        assertEquals(tokens.length - 41, ds.scored());
        assertTrue(ds.meanBudget() > 0 && ds.meanBudget() <= 32, "budget " + ds.meanBudget());
        assertTrue(ds.perplexity() > 1 && Double.isFinite(ds.perplexity()), "perplexity " + ds.perplexity());
    }

    private static double[] probabilities(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
