package io.twilight4j.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.Backends;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.SharedModels;
import io.twilight4j.policy.AttentionPolicy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The forward pass on the real stories260K model against llama2.c's published output and a float64 reference. */
class LlamaDecoderTest {

    private static final int BOS = 1;
    private static GgufFile file;
    private static LlamaModel model;
    private static AttentionBackend backend;

    @BeforeAll
    static void load() throws IOException {
        file = GgufFile.open(SharedModels.require("stories260K.gguf"));
        model = LlamaModel.load(file, null);
        if (!Backends.names().contains("cpu")) {
            // The engine's CPU backend lands on main separately; CI must have it.
            String reason = "no 'cpu' attention backend on the class path";
            org.junit.jupiter.api.Assertions.assertNotEquals("true", System.getenv("CI"), reason);
            System.err.println("SKIPPED: " + reason);
            org.junit.jupiter.api.Assumptions.abort(reason);
        }
        backend = Backends.open("cpu", null, 2);
    }

    @AfterAll
    static void close() {
        if (backend != null) {
            backend.close();
        }
        if (file != null) {
            file.close();
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

    // Not listed yet: quest:64, quest:64+twilight:0.99 and quest:80+twilight:0.99 all diverge from dense
    // at generated token 71 (310 vs 316), although quest:80 should select every token at that length;
    // under investigation in the quest selector (oracle and full+twilight agree).
    @ParameterizedTest
    @ValueSource(strings = {"full+twilight:0.999", "oracle:64", "oracle:48"})
    void sparsePoliciesAgreeWithDenseOverTheFirst100Tokens(String policy) {
        int[] dense = greedy(AttentionPolicy.dense(), 100);
        int[] sparse;
        double budget;
        try (LlamaDecoder d = model.newDecoder(backend, AttentionPolicy.parse(policy), 2, 128)) {
            sparse = greedy(d, 100);
            budget = d.meanAttentionBudget();
        }
        assertArrayEquals(dense, sparse, policy + " diverged from dense");
        // Over 100 positions dense attention averages ~50 tokens; the policy must have kept fewer.
        assertTrue(budget > 0 && budget < 50, policy + ": mean budget " + budget);
    }

    private static int[] greedy(AttentionPolicy policy, int n) {
        try (LlamaDecoder d = model.newDecoder(backend, policy, 2, 128)) {
            return greedy(d, n);
        }
    }

    private static int[] greedy(LlamaDecoder d, int n) {
        int[] out = new int[n];
        int token = BOS;
        for (int i = 0; i < n; i++) {
            token = argmax(d.forward(token));
            out[i] = token;
        }
        return out;
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
