package io.twilight4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.Backends;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.llama.LlamaDecoder;
import io.twilight4j.llama.LlamaModel;
import io.twilight4j.llama.SyntheticModels;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code generate} on stories260K against a greedy loop over LlamaDecoder written here; errors are one line. */
class GenerateCommandTest {

    private static final String PROMPT = "Once upon a time";
    private static final int MAX_TOKENS = 40;

    @TempDir
    Path dir;

    @Test
    void greedyOutputIsThePromptThenTheDecodersOwnGreedyContinuation() throws Exception {
        Path model = CliRun.sharedModel("stories260K.gguf");
        String expected = PROMPT + greedyContinuation(model) + System.lineSeparator();
        CliRun r = CliRun.run("", "generate", "-m", model.toString(), "-p", PROMPT, "-n", String.valueOf(MAX_TOKENS),
                "--temperature", "0", "-t", "1");
        assertEquals(0, r.exit(), r.err());
        assertEquals(expected, r.out());
        String stats = r.err().lines().filter(l -> l.contains("eval rate")).findFirst().orElseThrow(() -> new AssertionError(r.err()));
        for (String name : new String[] {"load duration", "prompt eval count", "prompt eval duration", "eval count", "eval duration",
                "mean attention budget"}) {
            assertTrue(stats.contains(name), name + " in " + stats);
        }
    }

    /**
     * With --dense-prompt the logits after the prompt are dense attention's, so the first greedy token is dense's
     * whatever the policy; a one-token window over the prompt (no sinks) changes it.
     */
    @Test
    void aDensePromptGivesDensesFirstToken() throws Exception {
        Path model = CliRun.sharedModel("stories260K.gguf");
        String prompt = "Once upon a time, there was a little girl named Lily. She loved to play";
        String dense = output(CliRun.run("", "generate", "-m", model.toString(), "-p", prompt, "-n", "1", "--temperature", "0"));
        String densePrompt = output(CliRun.run("", "generate", "-m", model.toString(), "-p", prompt, "-n", "1", "--temperature", "0",
                "--attention", "window:1:0", "--dense-layers", "0", "--dense-prompt"));
        String sparse = output(CliRun.run("", "generate", "-m", model.toString(), "-p", prompt, "-n", "1", "--temperature", "0",
                "--attention", "window:1:0", "--dense-layers", "0"));
        assertEquals(dense, densePrompt);
        assertNotEquals(dense, sparse, "a one-token window should move the first token (else this test shows nothing)");
    }

    private static String output(CliRun r) {
        assertEquals(0, r.exit(), r.err());
        return r.out();
    }

    @Test
    void aLongPromptShowsItsProgressAShortOneDoesNot() {
        Path model = CliRun.sharedModel("stories260K.gguf");
        String longPrompt = (PROMPT + " there was a little girl named Lily. ").repeat(6);
        CliRun lng = CliRun.run("", "generate", "-m", model.toString(), "-p", longPrompt, "-n", "2", "--temperature", "0");
        assertEquals(0, lng.exit(), lng.err());
        int tokens = Integer.parseInt(lng.err().replaceAll("(?s).*prompt eval count (\\d+) token.*", "$1"));
        assertTrue(tokens >= ModelSession.PROMPT_BAR_TOKENS, "prompt of " + tokens + " tokens");
        java.util.regex.Pattern bar = java.util.regex.Pattern.compile("prompt +\\d+%");
        assertTrue(bar.matcher(lng.err()).find() && lng.err().contains(tokens + "/" + tokens + " tokens"), lng.err());
        CliRun shrt = CliRun.run("", "generate", "-m", model.toString(), "-p", PROMPT, "-n", "2", "--temperature", "0");
        assertEquals(0, shrt.exit(), shrt.err());
        assertTrue(!bar.matcher(shrt.err()).find(), shrt.err());
    }

    /** Second path: tokenizer, model and decoder used directly, argmax by hand, stop at EOS. */
    private static String greedyContinuation(Path file) throws Exception {
        try (GgufFile f = GgufFile.open(file); AttentionBackend backend = Backends.open("cpu", null, 1)) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            LlamaModel model = LlamaModel.load(f, null);
            return greedyText(model, tok, backend, MAX_TOKENS);
        }
    }

    /** The prompt's greedy continuation on a dense decoder: argmax by hand, at most {@code max} tokens, stop at EOS. */
    private static String greedyText(LlamaModel model, Tokenizer tok, AttentionBackend backend, int max) {
        return greedyText(model, tok, backend, "dense", 2, null, max);
    }

    /** As above with {@code policy} over a cache with {@code smoothing} (may be null). */
    private static String greedyText(LlamaModel model, Tokenizer tok, AttentionBackend backend, String policy, int denseLayers,
                                     io.twilight4j.kv.KeySmoothing smoothing, int max) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (LlamaDecoder d = model.newDecoder(backend, AttentionPolicy.parse(policy), denseLayers, 4096, null, smoothing)) {
            float[] logits = null;
            for (int t : tok.encode(PROMPT, true, false)) {
                logits = d.forward(t);
            }
            for (int i = 0; i < max; i++) {
                int best = 0;
                for (int j = 1; j < logits.length; j++) {
                    best = logits[j] > logits[best] ? j : best;
                }
                if (best == tok.eos()) {
                    break;
                }
                bytes.writeBytes(tok.decodeBytes(best));
                logits = d.forward(best);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /**
     * A policy that reads the 4-bit keys calibrates the key smoothing on the prompt and decodes with it:
     * the greedy output equals a decoder's built here with {@code calibrateKeySmoothing} on the prompt's tokens, and
     * with --no-key-smoothing one's built without (the two differ, or this test would show nothing).
     */
    @Test
    void twilightCalibratesTheKeySmoothingOnThePrompt() throws Exception {
        Path file = CliRun.sharedModel("stories260K.gguf");
        String policy = "full+twilight:0.8";
        String[] args = {"generate", "-m", file.toString(), "-p", PROMPT, "-n", String.valueOf(MAX_TOKENS), "--temperature", "0",
                "-t", "1", "--attention", policy, "--dense-layers", "0"};
        CliRun smoothed = CliRun.run("", args);
        assertEquals(0, smoothed.exit(), smoothed.err());
        assertTrue(smoothed.err().contains("calibrated the key smoothing on the prompt's first"), smoothed.err());
        String[] plainArgs = java.util.Arrays.copyOf(args, args.length + 1);
        plainArgs[args.length] = "--no-key-smoothing";
        CliRun plain = CliRun.run("", plainArgs);
        assertEquals(0, plain.exit(), plain.err());
        assertTrue(!plain.err().contains("key smoothing"), plain.err());
        try (GgufFile f = GgufFile.open(file); AttentionBackend backend = Backends.open("cpu", null, 1)) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            LlamaModel model = LlamaModel.load(f, null);
            io.twilight4j.kv.KeySmoothing smoothing = model.calibrateKeySmoothing(backend, tok.encode(PROMPT, true, false));
            String withSmoothing = PROMPT + greedyText(model, tok, backend, policy, 0, smoothing, MAX_TOKENS) + System.lineSeparator();
            String without = PROMPT + greedyText(model, tok, backend, policy, 0, null, MAX_TOKENS) + System.lineSeparator();
            assertEquals(withSmoothing, smoothed.out());
            assertEquals(without, plain.out());
            assertNotEquals(withSmoothing, without, "the smoothing should change this continuation");
        }
    }

    @Test
    void aMissingModelFileIsOneLineNamingIt() {
        Path missing = dir.resolve("no-such-model.gguf");
        CliRun r = CliRun.run("", "generate", "-m", missing.toString(), "-p", PROMPT);
        assertNotEquals(0, r.exit());
        assertEquals(1, r.err().lines().filter(l -> l.contains(missing.toString())).count(), r.err());
        assertTrue(r.err().lines().findFirst().orElseThrow().contains(missing.toString()), r.err());
        assertTrue(!r.err().contains("\tat "), "no stack trace: " + r.err());
        assertEquals("", r.out());
    }

    @Test
    void aBadAttentionPolicyIsOneLineNamingIt() {
        CliRun r = CliRun.run("", "generate", "-m", dir.resolve("unread.gguf").toString(), "-p", PROMPT, "--attention", "quest:abc");
        assertNotEquals(0, r.exit());
        String first = r.err().lines().findFirst().orElseThrow();
        assertTrue(first.contains("--attention 'quest:abc'"), r.err());
        assertTrue(!r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test
    void aMissingLabelChannelsFileIsNamedBeforeTheModelLoads() {
        Path missing = dir.resolve("no-such-labels.txt");
        CliRun r = CliRun.run("", "generate", "-m", dir.resolve("unread.gguf").toString(), "-p", PROMPT,
                "--attention", "ds:64:4", "--label-channels", missing.toString());
        assertNotEquals(0, r.exit());
        String first = r.err().lines().findFirst().orElseThrow();
        assertTrue(first.contains("--label-channels " + missing) && first.contains("no such readable file"), r.err());
    }

    @Test
    void syntheticModelGreedyOutputIsTheDecodersOwnGreedyContinuation() throws Exception {
        String expected;
        try (Arena arena = Arena.ofShared(); AttentionBackend backend = Backends.open("cpu", null, 1)) {
            // Second path: the same shape and seed built here, its tokenizer, argmax by hand.
            LlamaModel model = SyntheticModels.build("tiny", 1, arena);
            Tokenizer tok = SyntheticModels.tokenizer(model.config());
            expected = PROMPT + greedyText(model, tok, backend, 12) + System.lineSeparator();
        }
        CliRun r = CliRun.run("", "generate", "--synthetic", "tiny", "-p", PROMPT, "-n", "12", "--temperature", "0", "-t", "1");
        assertEquals(0, r.exit(), r.err());
        assertEquals(expected, r.out());
    }

    @Test
    void benchReportsEachRunAndTheMedianRatio() {
        CliRun r = CliRun.run("", "generate", "--synthetic", "tiny", "--bench", "-n", "8", "--bench-runs", "3", "-t", "1");
        assertEquals(0, r.exit(), r.err());
        assertEquals(3, r.out().lines().filter(l -> l.matches("run \\d: decode .* tokens/s, weights .* GB/s, streaming read .* GB/s .*")).count(), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("median: [0-9.]+ tokens/s, weights [0-9.]+ GB/s, stream [0-9.]+ GB/s, ratio [0-9.]+%")), r.out());
    }

    @Test
    void modelSourceErrorsAreOneLine() {
        CliRun both = CliRun.run("", "generate", "-m", dir.resolve("x.gguf").toString(), "--synthetic", "tiny", "-p", PROMPT);
        assertNotEquals(0, both.exit());
        assertTrue(both.err().lines().findFirst().orElseThrow().contains("give either -m/--model FILE or --synthetic NAME"), both.err());
        CliRun unknown = CliRun.run("", "generate", "--synthetic", "llama-0b", "--bench");
        assertNotEquals(0, unknown.exit());
        assertTrue(unknown.err().lines().findFirst().orElseThrow().contains("synthetic model 'llama-0b' is unknown; known: tiny"), unknown.err());
        CliRun noPrompt = CliRun.run("", "generate", "--synthetic", "tiny");
        assertTrue(noPrompt.err().lines().findFirst().orElseThrow().contains("missing -p/--prompt (or --bench)"), noPrompt.err());
        assertTrue(!(both.err() + unknown.err() + noPrompt.err()).contains("\tat "), "no stack trace");
    }

    @Test
    void mainListsGenerateAndChatWithExamples() {
        CliRun r = CliRun.run("");
        assertTrue(r.out().contains("bin/twilight4j generate -m ../shared/models/stories260K.gguf"), r.out());
        assertTrue(r.out().contains("bin/twilight4j chat -m model.gguf"), r.out());
    }
}
