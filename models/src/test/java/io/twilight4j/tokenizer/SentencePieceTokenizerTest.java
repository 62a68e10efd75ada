package io.twilight4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.SharedModels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** SentencePiece BPE against llama.cpp's test vectors (made by Hugging Face's tokenizer) and the stories260K vocabulary. */
class SentencePieceTokenizerTest {

    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    @Test
    void llama2VocabularyEncodesEveryLlamaCppTestStringToTheExpectedIds() throws Exception {
        Path gguf = SharedModels.require("tokenizer/ggml-vocab-llama-spm.gguf");
        Path inp = SharedModels.require("tokenizer/ggml-vocab-llama-spm.gguf.inp");
        Path out = SharedModels.require("tokenizer/ggml-vocab-llama-spm.gguf.out");
        String all = Files.readString(inp, StandardCharsets.UTF_8);
        assertTrue(all.endsWith(SEPARATOR));
        List<String> texts = Arrays.asList(all.substring(0, all.length() - SEPARATOR.length()).split(SEPARATOR, -1));
        List<String> expected = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(46, texts.size());
        assertEquals(texts.size(), expected.size());
        try (GgufFile f = GgufFile.open(gguf)) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            assertEquals(32_000, tok.vocabSize());
            int failures = 0;
            StringBuilder report = new StringBuilder();
            for (int i = 0; i < texts.size(); i++) {
                int[] want = expected.get(i).isBlank() ? new int[0]
                        : Arrays.stream(expected.get(i).trim().split(" ")).mapToInt(Integer::parseInt).toArray();
                int[] got = tok.encode(texts.get(i), false, false);
                if (!Arrays.equals(want, got)) {
                    failures++;
                    report.append("\n#").append(i).append(" '").append(texts.get(i)).append("': want ")
                            .append(Arrays.toString(want)).append(" got ").append(Arrays.toString(got));
                }
                // llama.cpp's detokenize inverts encode for these strings.
                assertEquals(texts.get(i), tok.decode(got), "decode #" + i);
            }
            assertEquals(0, failures, report.toString());
            assertEquals(1, tok.encode("Hello", true, false)[0]);
            assertTrue(tok.addBosByDefault());
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {7, 8, 9, 10})
    void stories260KDecodesWhatItEncodesForRandomAscii(long seed) throws Exception {
        try (GgufFile f = GgufFile.open(SharedModels.require("stories260K.gguf"))) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            SplittableRandom rnd = new SplittableRandom(seed);
            for (int trial = 0; trial < 200; trial++) {
                StringBuilder sb = new StringBuilder();
                int n = rnd.nextInt(40);
                for (int i = 0; i < n; i++) {
                    int r = rnd.nextInt(100);
                    sb.append(r < 3 ? '\n' : r < 5 ? '\t' : (char) (' ' + rnd.nextInt(95)));
                }
                String s = sb.toString();
                int[] ids = tok.encode(s, false, false);
                for (int id : ids) {
                    assertTrue(id >= 0 && id < 512 && !tok.isSpecial(id), "seed " + seed + ": " + s);
                }
                assertEquals(s, tok.decode(ids), "seed " + seed + " trial " + trial);
            }
        }
    }

    @Test
    void specialTokensAreParsedOnlyWhenAsked() throws Exception {
        try (GgufFile f = GgufFile.open(SharedModels.require("stories260K.gguf"))) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            assertEquals(1, tok.bos());
            assertEquals(2, tok.eos());
            assertTrue(tok.isSpecial(1) && tok.isSpecial(2));
            assertFalse(tok.isSpecial(259));
            int[] parsed = tok.encode("a</s>b", false, true);
            assertEquals(3, parsed.length, Arrays.toString(parsed));
            assertEquals(2, parsed[1]);
            // After a special token the space prefix is added again, as llama.cpp does.
            assertArrayEquals(tok.encode("b", false, false), Arrays.copyOfRange(parsed, 2, 3));
            int[] literal = tok.encode("a</s>b", false, false);
            assertFalse(Arrays.stream(literal).anyMatch(id -> id == 2));
            assertEquals("a</s>b", tok.decode(literal));
            assertEquals(0, tok.decodeBytes(2).length, "control tokens print nothing");
            assertEquals("<s>", tok.piece(1));
            assertArrayEquals(new byte[] {(byte) 0xC3}, tok.decodeBytes(3 + 0xC3));
        }
    }
}
