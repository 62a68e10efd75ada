package io.twilight4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.gguf.GgmlType;
import io.twilight4j.gguf.GgufArray;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufValueType;
import io.twilight4j.gguf.GgufWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.HashMap;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * GPT-2 byte-level BPE against a naive reference (Hugging Face's loop: merge every occurrence of the
 * lowest-ranked pair present, repeat) on random vocabularies and merge lists built here.
 */
class Gpt2BpeTokenizerTest {

    @TempDir
    Path dir;

    /** A random but well-formed BPE: each merge joins two pieces that already exist. */
    private record RandomBpe(String[] pieces, String[] merges) {
        static RandomBpe make(SplittableRandom rnd, String alphabet, int mergeCount) {
            LinkedHashSet<String> pieces = new LinkedHashSet<>();
            for (int b = 0; b < 256; b++) {
                pieces.add(String.valueOf(ByteLevelAlphabet.charOf(b)));
            }
            List<String> symbols = new ArrayList<>();
            for (char c : ByteLevelAlphabet.encode(alphabet.getBytes(StandardCharsets.UTF_8)).toCharArray()) {
                symbols.add(String.valueOf(c));
            }
            LinkedHashSet<String> merges = new LinkedHashSet<>();
            while (merges.size() < mergeCount) {
                String l = symbols.get(rnd.nextInt(symbols.size()));
                String r = symbols.get(rnd.nextInt(symbols.size()));
                if (merges.add(l + " " + r) && pieces.add(l + r)) {
                    symbols.add(l + r);
                }
            }
            return new RandomBpe(pieces.toArray(String[]::new), merges.toArray(String[]::new));
        }
    }

    @ParameterizedTest(name = "seed {0}, pre {1}")
    @CsvSource({"1,default", "2,default", "3,llama-bpe", "4,llama-bpe", "5,gpt-2"})
    void encodeMatchesTheNaiveMergeLoop(long seed, String pre) {
        SplittableRandom rnd = new SplittableRandom(seed);
        String alphabet = "abc é1\n";
        RandomBpe bpe = RandomBpe.make(rnd, alphabet, 60);
        Vocabulary vocab = Vocabulary.of(bpe.pieces, null, null, -1, -1, -1, false);
        Gpt2BpeTokenizer tok = new Gpt2BpeTokenizer(vocab, bpe.merges, pre);
        Pattern split = Pattern.compile("llama-bpe".equals(pre) ? Gpt2BpeTokenizer.LLAMA3_SPLIT : Gpt2BpeTokenizer.GPT2_SPLIT,
                Pattern.UNICODE_CHARACTER_CLASS);
        Map<String, Integer> rank = new HashMap<>();
        for (int i = 0; i < bpe.merges.length; i++) {
            rank.put(bpe.merges[i], i);
        }
        for (int trial = 0; trial < 300; trial++) {
            StringBuilder sb = new StringBuilder();
            int n = rnd.nextInt(25);
            for (int i = 0; i < n; i++) {
                sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            String text = sb.toString();
            List<Integer> want = new ArrayList<>();
            Matcher m = split.matcher(text);
            while (m.find()) {
                String word = ByteLevelAlphabet.encode(m.group().getBytes(StandardCharsets.UTF_8));
                if ("llama-bpe".equals(pre) && vocab.id(word) >= 0) {
                    want.add(vocab.id(word)); // Llama 3 takes a word that is a piece whole
                    continue;
                }
                for (String s : naiveBpe(word, rank)) {
                    want.add(vocab.id(s));
                }
            }
            int[] got = tok.encode(text, false, false);
            assertArrayEquals(want.stream().mapToInt(Integer::intValue).toArray(), got,
                    "seed " + seed + " text '" + text + "'");
            assertEquals(text, tok.decode(got));
        }
    }

    /** Hugging Face's loop: find the lowest-ranked adjacent pair, merge all its occurrences left to right. */
    private static List<String> naiveBpe(String word, Map<String, Integer> rank) {
        List<String> s = new ArrayList<>();
        word.chars().forEach(c -> s.add(String.valueOf((char) c)));
        while (true) {
            String best = null;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < s.size(); i++) {
                Integer r = rank.get(s.get(i) + " " + s.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = s.get(i) + " " + s.get(i + 1);
                }
            }
            if (best == null) {
                return s;
            }
            List<String> merged = new ArrayList<>();
            for (int i = 0; i < s.size(); i++) {
                if (i + 1 < s.size() && (s.get(i) + " " + s.get(i + 1)).equals(best)) {
                    merged.add(s.get(i) + s.get(i + 1));
                    i++;
                } else {
                    merged.add(s.get(i));
                }
            }
            s.clear();
            s.addAll(merged);
        }
    }

    @Test
    void llama3PreTokenizerSplitsAsItsRegexIntends() {
        Pattern p = Pattern.compile(Gpt2BpeTokenizer.LLAMA3_SPLIT, Pattern.UNICODE_CHARACTER_CLASS);
        assertEquals(List.of("Hello", " world"), words(p, "Hello world"));
        assertEquals(List.of("123", "456", "7"), words(p, "1234567"));
        assertEquals(List.of("I", "'M", " fine"), words(p, "I'M fine"));
        assertEquals(List.of(" ", " x"), words(p, "  x"));
        assertEquals(List.of("a", "\n\n", "b"), words(p, "a\n\nb"));
        assertEquals(List.of("\u00A0", "\u00A0x"), words(p, "\u00A0\u00A0x"), "Unicode whitespace counts as \\s");
        assertEquals(List.of("!!!\n"), words(p, "!!!\n"));
    }

    private static List<String> words(Pattern p, String s) {
        List<String> out = new ArrayList<>();
        Matcher m = p.matcher(s);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    @Test
    void fromGgufReadsMergesAndSpecialTokens() throws Exception {
        RandomBpe bpe = RandomBpe.make(new SplittableRandom(99), "ab ", 10);
        String[] pieces = java.util.Arrays.copyOf(bpe.pieces, bpe.pieces.length + 2);
        pieces[pieces.length - 2] = "<|begin_of_text|>";
        pieces[pieces.length - 1] = "<|eot_id|>";
        int[] types = new int[pieces.length];
        java.util.Arrays.fill(types, Vocabulary.NORMAL);
        types[pieces.length - 2] = Vocabulary.CONTROL;
        types[pieces.length - 1] = Vocabulary.CONTROL;
        Path p = dir.resolve("bpe.gguf");
        new GgufWriter()
                .putString("tokenizer.ggml.model", "gpt2")
                .putString("tokenizer.ggml.pre", "llama-bpe")
                .putArray("tokenizer.ggml.tokens", new GgufArray(GgufValueType.STRING, pieces))
                .putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, types))
                .putArray("tokenizer.ggml.merges", new GgufArray(GgufValueType.STRING, bpe.merges))
                .putUInt32("tokenizer.ggml.bos_token_id", pieces.length - 2)
                .putUInt32("tokenizer.ggml.eos_token_id", pieces.length - 1)
                .putBoolean("tokenizer.ggml.add_bos_token", true)
                .addTensor("dummy", GgmlType.F32, new long[] {1}, new byte[4])
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            assertEquals(pieces.length - 2, tok.bos());
            int[] ids = tok.encode("ab<|eot_id|>ba", true, true);
            assertEquals(tok.bos(), ids[0]);
            assertEquals(1, java.util.Arrays.stream(ids).filter(id -> id == tok.eos()).count());
            assertEquals("ab<|eot_id|>ba".replace("<|eot_id|>", ""), tok.decode(ids), "control tokens print nothing");
            assertEquals("ab<|eot_id|>ba", tok.decode(tok.encode("ab<|eot_id|>ba", false, false)));
            assertEquals(true, tok.addBosByDefault());
        }
    }
}
