package io.twilight4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.gguf.GgmlType;
import io.twilight4j.gguf.GgufArray;
import io.twilight4j.gguf.GgufValueType;
import io.twilight4j.gguf.GgufWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code inspect} on a file written here: every key and tensor is listed; a broken file is one error and a non-zero exit. */
class InspectCommandTest {

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {
    }

    private static Run inspect(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private Path writeSample() throws Exception {
        Path p = dir.resolve("sample.gguf");
        String[] tokens = IntStream.range(0, 12).mapToObj(i -> "tok" + i).toArray(String[]::new);
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.note", "two\nlines")
                .putUInt32("llama.block_count", 2)
                .putArray("tokenizer.ggml.tokens", new GgufArray(GgufValueType.STRING, tokens))
                .addTensor("blk.0.attn_q.weight", GgmlType.Q8_0, new long[] {64, 3}, new byte[2 * 34 * 3])
                .addTensor("output_norm.weight", GgmlType.F32, new long[] {64}, new byte[256])
                .write(p);
        return p;
    }

    @Test
    void printsHeaderMetadataAndTensorTable() throws Exception {
        Path p = writeSample();
        Run r = inspect("inspect", p.toString());
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.contains("GGUF v3, 4 metadata keys, 2 tensors, alignment 32"), r.out);
        assertTrue(r.out.contains("\"llama\""), r.out);
        assertTrue(r.out.contains("\"two\\nlines\""), "control characters escaped: " + r.out);
        assertTrue(r.out.contains("[STRING x 12] [\"tok0\", \"tok1\", \"tok2\", \"tok3\", \"tok4\", ...]"), r.out);
        String q = r.out.lines().filter(l -> l.contains("blk.0.attn_q.weight")).findFirst().orElseThrow();
        assertTrue(q.contains("Q8_0") && q.contains(Arrays.toString(new long[] {64, 3})) && q.trim().endsWith(" 204"), q);
        String norm = r.out.lines().filter(l -> l.contains("output_norm.weight")).findFirst().orElseThrow();
        assertTrue(norm.contains("F32") && norm.trim().endsWith(" 256"), norm);
        assertTrue(r.out.contains("  matrices: Q8_0 x1; generate and chat decode all of them"), r.out);
    }

    @Test
    void namesMatrixTypesTheDecoderCannotRead() throws Exception {
        Path p = dir.resolve("iq2.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("blk.0.attn_q.weight", GgmlType.IQ2_XS, new long[] {256, 2}, new byte[2 * 74])
                .addTensor("blk.0.attn_k.weight", GgmlType.Q4_K, new long[] {256, 2}, new byte[2 * 144])
                .addTensor("blk.0.attn_v.weight", GgmlType.Q4_K, new long[] {256, 2}, new byte[2 * 144])
                .write(p);
        Run r = inspect("inspect", p.toString());
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.contains("  matrices: Q4_K x2 IQ2_XS x1; generate and chat do not decode [IQ2_XS] (they take ["), r.out);
    }

    @Test
    void aBrokenFileIsOneErrorLineNamingFileAndField() throws Exception {
        Path p = writeSample();
        Path broken = dir.resolve("broken.gguf");
        byte[] b = Files.readAllBytes(p);
        Files.write(broken, Arrays.copyOf(b, 100));
        Run r = inspect("inspect", broken.toString());
        assertNotEquals(0, r.exit);
        String first = r.err.lines().findFirst().orElseThrow();
        assertTrue(first.contains(broken.toString()) && first.contains("metadata 'general.note'"), r.err);
        assertTrue(!r.err.contains("\tat "), "no stack trace without --verbose: " + r.err);
        assertEquals("", r.out);
    }

    @Test
    void mainListsInspectWithItsExample() {
        Run r = inspect();
        assertTrue(r.out.contains("inspect") && r.out.contains("bin/twilight4j inspect ../shared/models/stories260K.gguf"), r.out);
    }
}
