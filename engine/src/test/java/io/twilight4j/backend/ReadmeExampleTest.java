package io.twilight4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.KvCache;
import io.twilight4j.kv.KvShape;
import io.twilight4j.policy.AttentionPolicy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The README's library example runs as written: its code block is compared line by line with
 * {@link #example} (whitespace and comments aside), which runs it on one token, where attention's output for
 * every query head of the group is that token's value row.
 */
class ReadmeExampleTest {

    private static final Path README = Path.of("../README.md");
    private static final Path SOURCE = Path.of("src/test/java/io/twilight4j/backend/ReadmeExampleTest.java");

    @Test
    void theExampleRunsAndAttendsItsOneToken() throws Exception {
        int layers = 1, kvHeads = 2, queryHeads = 4, layer = 0;
        SplittableRandom r = new SplittableRandom(7);
        float[] k = gaussian(r, kvHeads * 128);
        float[] v = gaussian(r, kvHeads * 128);
        float[] q = gaussian(r, queryHeads * 128);
        float[] out = new float[queryHeads * 128];
        example(layers, kvHeads, queryHeads, layer, k, v, q, out);
        for (int h = 0; h < queryHeads; h++) {
            int kvHead = h / (queryHeads / kvHeads);
            for (int c = 0; c < 128; c++) {
                assertEquals(Fp16.round(v[kvHead * 128 + c]), out[h * 128 + c], 1e-6, "head " + h + " channel " + c);
            }
        }
    }

    @Test
    void theReadmeShowsThisCode() throws Exception {
        List<String> readme = codeLines(Files.readString(README, StandardCharsets.UTF_8), "## Library\n\n```java\n", "```");
        List<String> source = codeLines(Files.readString(SOURCE, StandardCharsets.UTF_8), "// README begin\n", "// README end");
        assertTrue(readme.size() > 5, "README's library block: " + readme);
        assertEquals(readme, source, "README.md's library example and ReadmeExampleTest.example differ");
    }

    private static void example(int layers, int kvHeads, int queryHeads, int layer, float[] k, float[] v, float[] q,
                                float[] out) {
        // README begin
try (AttentionBackend backend = Backends.open("cpu", null, 0);          // or "opencl"
     KvCache cache = backend.createCache(KvShape.forTokens(layers, kvHeads, 128, 131_072, 0), null);
     DecodeAttention attention = backend.plan(cache, AttentionPolicy.parse("quest:8192+twilight:0.95"),
             new DecodeShape(queryHeads, /*maxBatch*/ 1, /*maxContext*/ 131_072))) {
    int seq = cache.pager().newSequence();
    int pos = cache.pager().append(seq, 1);                                // take a position (pages as needed)
    cache.write(layer, seq, pos, k, v, 1);                                 // fp16 K/V + Quest bounds + 4-bit K
    StepStats stats = attention.run(layer, new int[] {seq}, q, out);       // select -> prune -> attend
    System.out.println(stats.meanKept() + " tokens attended per head");
}
        // README end
    }

    /** The lines between {@code begin} and the next {@code end}, trimmed, without // comments and blank lines. */
    private static List<String> codeLines(String text, String begin, String end) {
        int from = text.indexOf(begin);
        assertTrue(from >= 0, "no '" + begin.strip() + "' in the file");
        from += begin.length();
        int to = text.indexOf(end, from);
        return text.substring(from, to).lines().map(l -> l.replaceAll("\\s*//.*$", "").strip())
                .filter(l -> !l.isEmpty()).toList();
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }
}
