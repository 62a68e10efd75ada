package io.twilight4j.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.gguf.SharedModels;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The forward pass on the real stories260K model against llama2.c's published output and a float64 reference. */
class LlamaDecoderTest {

    private static final int BOS = 1;
    private static final String PROMPT = "Once upon a time";
    private static Stories260K stories;
    private static LlamaModel model;
    private static Tokenizer tokenizer;
    private static AttentionBackend backend;

    @BeforeAll
    static void load() throws IOException {
        stories = Stories260K.open();
        model = stories.model;
        tokenizer = stories.tokenizer;
        backend = stories.backend;
    }

    @AfterAll
    static void close() {
        if (stories != null) {
            stories.close();
        }
    }

    @Test
    void logitsMatchFloat64ReferenceOnTheLlama2cCheckpoint() throws IOException {
        Llama2cReference ref = new Llama2cReference(SharedModels.require("stories260K.bin"));
        assertEquals(ref.vocab, model.config().vocabSize());
        try (LlamaDecoder d = model.newDecoder(backend, AttentionPolicy.dense(), 2, 64)) {
            int token = BOS;
            for (int step = 0; step < 24; step++) {
                double[] expect = ref.forward(token);
                float[] got = d.forward(token);
                double scale = 0;
                for (double e : expect) {
                    scale = Math.max(scale, Math.abs(e));
                }
                for (int i = 0; i < expect.length; i++) {
                    // The engine caches K and V in fp16 (11-bit mantissa), hence ~1e-3 relative; a
                    // wrong RoPE pair, norm or GQA mapping moves logits by O(1).
                    assertEquals(expect[i], got[i], 2e-3 * (1 + scale), "step " + step + " logit " + i);
                }
                token = argmax(expect);
            }
        }
    }

    @Test
    void greedyFromBosReproducesTheLlama2cSample() throws IOException {
        // karpathy/llama2.c doc/stories260K.md: run.c -t 0 from an empty prompt prints this text first.
        String expected = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";
        String[] pieces = llama2cPieces(SharedModels.require("tok512.bin"));
        StringBuilder text = new StringBuilder();
        try (LlamaDecoder d = model.newDecoder(backend, AttentionPolicy.dense(), 2, 256)) {
            int token = BOS;
            while (text.length() < expected.length() && d.position() < 100) {
                int next = argmax(d.forward(token));
                String piece = pieces[next];
                // run.c drops the leading space of the first piece after BOS.
                text.append(token == BOS && piece.startsWith(" ") ? piece.substring(1) : piece);
                token = next;
            }
        }
        assertTrue(text.toString().startsWith(expected), "greedy text: " + text);
    }

    /**
     * The check: greedy after "Once upon a time", 100 tokens, token for token equal to dense,
     * with a policy that actually prunes (mean budget under 90% of dense's mean context, ~55 tokens). Not listed:
     * twilight:0.99 and 0.995 (with quest:256 as with full) diverge at generated token 67 (310 vs 316)
     * where dense's top-2 margin is 0.0496, no numeric near-tie: dropping 0.5-1% of the attention mass
     * moves this tiny model's logits that much. quest:64 alone and quest:80+twilight:0.999 diverge
     * once quest drops pages (tokens 67 and 82, margins 0.05 and 0.66).
     */
    @ParameterizedTest
    @ValueSource(strings = {"quest:128+twilight:0.999", "quest:96+twilight:0.999", "full+twilight:0.999", "oracle:64", "oracle:48"})
    void sparsePoliciesAgreeWithDenseOverTheFirst100Tokens(String policy) {
        Run dense = greedy(AttentionPolicy.dense(), 100, null);
        Run sparse = greedy(AttentionPolicy.parse(policy), 100, null);
        assertArrayEquals(dense.tokens(), sparse.tokens(), policy + " diverged from dense");
        assertTrue(sparse.meanBudget() > 0 && sparse.meanBudget() < 0.9 * dense.meanBudget(),
                policy + ": mean budget " + sparse.meanBudget() + ", dense " + dense.meanBudget());
    }

    /**
     * Quest holding every token (budget above the context) attends exactly the tokens dense does: the
     * same greedy text for 100 tokens and, over the first 20, logits equal up to rounding. Not bit for
     * bit (the first session's check, which turned out flaky): the Vector API leaves the lane order of sum
     * reductions open and JIT-compiled and interpreted code differ, so two runs can round differently;
     * measured: 3e-4 on a logit after the prompt, growing to ~2.5e-3 by token 40 through the context.
     * A wrong set of tokens moves logits by tenths and changes the text.
     */
    @Test
    void questSelectingEveryTokenMatchesDense() {
        List<float[]> dense = new ArrayList<>();
        List<float[]> quest = new ArrayList<>();
        Run d = greedy(AttentionPolicy.dense(), 100, dense);
        Run q = greedy(AttentionPolicy.parse("quest:128"), 100, quest);
        assertArrayEquals(d.tokens(), q.tokens(), "quest:128 diverged from dense");
        for (int i = 0; i < 20; i++) {
            for (int v = 0; v < dense.get(i).length; v++) {
                assertEquals(dense.get(i)[v], quest.get(i)[v], 5e-3f, "logit " + v + " after generated token " + i);
            }
        }
    }

    /**
     * Double Sparsity through the model: label channels calibrated on the prompt's own queries (every
     * channel for this head size of 8), greedy decoding agrees with dense for 40 tokens while keeping
     * fewer tokens per head.
     */
    @Test
    void doubleSparsityCalibratedOnThePromptFollowsDense() {
        int[] prompt = tokenizer.encode(PROMPT, true, false);
        io.twilight4j.kv.LabelChannels labels = model.calibrateLabelChannels(backend, prompt, 8);
        assertEquals(model.config().layers(), labels.layers());
        assertEquals(8, labels.count());
        Run dense = greedy(AttentionPolicy.dense(), 40, null);
        Run ds = greedy(AttentionPolicy.parse("ds:32:8"), labels, 40, null);
        assertArrayEquals(dense.tokens(), ds.tokens(), "ds:32:8 diverged from dense");
        assertTrue(ds.meanBudget() < dense.meanBudget(), "ds budget " + ds.meanBudget() + ", dense " + dense.meanBudget());
        assertThrows(IllegalArgumentException.class, () -> model.newDecoder(backend, AttentionPolicy.parse("ds:32:4"), 2, 128, labels),
                "a label file with another channel count must be refused");
        assertThrows(IllegalArgumentException.class, () -> model.newDecoder(backend, AttentionPolicy.parse("ds:32:8"), 2, 128));
    }

    /** Greedy tokens after the prompt and the mean attention budget over those steps. */
    private record Run(int[] tokens, double meanBudget) {
    }

    /** Greedy decoding of {@code n} tokens after PROMPT; copies each step's logits into {@code logits} when given. */
    private static Run greedy(AttentionPolicy policy, int n, List<float[]> logits) {
        return greedy(policy, null, n, logits);
    }

    private static Run greedy(AttentionPolicy policy, io.twilight4j.kv.LabelChannels labels, int n, List<float[]> logits) {
        try (LlamaDecoder d = model.newDecoder(backend, policy, 2, 128, labels)) {
            float[] l = null;
            for (int t : tokenizer.encode(PROMPT, true, false)) {
                l = d.forward(t);
            }
            d.resetBudget();
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                if (logits != null) {
                    logits.add(l.clone());
                }
                out[i] = argmax(l);
                l = d.forward(out[i]);
            }
            return new Run(out, d.meanAttentionBudget());
        }
    }

    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** llama2.c tokenizer.bin pieces as run.c prints them ({@code <0xXX>} pieces become that byte). */
    static String[] llama2cPieces(Path tok) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(tok)).order(ByteOrder.LITTLE_ENDIAN);
        b.getInt();
        String[] pieces = new String[512];
        for (int i = 0; i < pieces.length; i++) {
            b.getFloat();
            byte[] s = new byte[b.getInt()];
            b.get(s);
            String p = new String(s, StandardCharsets.UTF_8);
            if (p.matches("<0x[0-9A-F]{2}>")) {
                p = String.valueOf((char) Integer.parseInt(p.substring(3, 5), 16));
            }
            pieces[i] = p;
        }
        return pieces;
    }
}
