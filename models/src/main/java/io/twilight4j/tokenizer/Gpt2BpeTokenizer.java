package io.twilight4j.tokenizer;

import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufFormatException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2 byte-level BPE ({@code tokenizer.ggml.model = gpt2}), as llama.cpp runs it for Llama 3: the
 * pre-tokenizer regex cuts text into words, each word's UTF-8 bytes are spelled in the
 * {@link ByteLevelAlphabet}, and merges apply by rank (lowest first, see {@link BigramMerger}). With
 * the Llama 3 pre-tokenizer a word that already is a vocabulary piece is taken whole (ignore_merges).
 */
final class Gpt2BpeTokenizer extends VocabularyTokenizer {

    /** Llama 3's pre-tokenizer (llama.cpp {@code LLAMA_VOCAB_PRE_TYPE_LLAMA3}). */
    static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** The original GPT-2 pre-tokenizer. */
    static final String GPT2_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private final Map<String, Integer> mergeRanks;
    private final Pattern split;
    private final boolean ignoreMerges;
    private final SpecialTokenSplitter splitter;

    /**
     * @param merges merge rules "left right" in rank order
     * @param pre    {@code tokenizer.ggml.pre}: llama-bpe (and its aliases) or default/gpt-2
     */
    Gpt2BpeTokenizer(Vocabulary vocab, String[] merges, String pre) {
        super(vocab);
        this.mergeRanks = new HashMap<>(merges.length * 2);
        for (int rank = 0; rank < merges.length; rank++) {
            int space = merges[rank].indexOf(' ', 1);
            if (space < 0) {
                throw new IllegalArgumentException("merge #" + rank + " '" + merges[rank] + "' is not 'left right'");
            }
            mergeRanks.putIfAbsent(merges[rank], rank);
        }
        boolean llama3 = switch (pre) {
            case "llama-bpe", "llama3", "llama-v3", "smaug-bpe", "dbrx" -> true;
            case "default", "gpt-2", "gpt2" -> false;
            default -> throw new IllegalArgumentException("metadata 'tokenizer.ggml.pre': pre-tokenizer '" + pre
                    + "' is not supported (llama-bpe, default, gpt-2)");
        };
        this.split = Pattern.compile(llama3 ? LLAMA3_SPLIT : GPT2_SPLIT, Pattern.UNICODE_CHARACTER_CLASS);
        this.ignoreMerges = llama3;
        this.splitter = new SpecialTokenSplitter(vocab);
    }

    /** {@code tokenizer.ggml.merges}, required for gpt2 vocabularies. */
    static String[] mergesFromGguf(GgufFile f) throws GgufFormatException {
        return f.getStringArray("tokenizer.ggml.merges");
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        List<Integer> out = new ArrayList<>();
        if (addBos && vocab.bos() >= 0) {
            out.add(vocab.bos());
        }
        for (SpecialTokenSplitter.Fragment f : splitter.split(text, parseSpecial)) {
            if (f.isToken()) {
                out.add(f.token());
                continue;
            }
            Matcher m = split.matcher(f.text());
            while (m.find()) {
                encodeWord(ByteLevelAlphabet.encode(m.group().getBytes(StandardCharsets.UTF_8)), out);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private void encodeWord(String word, List<Integer> out) {
        int whole = vocab.id(word);
        if (ignoreMerges && whole >= 0) {
            out.add(whole);
            return;
        }
        BigramMerger.PairScore score = (left, right) -> {
            Integer rank = mergeRanks.get(left + " " + right);
            return rank == null ? Float.NaN : -rank;
        };
        for (String symbol : BigramMerger.merge(word, score)) {
            int id = vocab.id(symbol);
            if (id >= 0) {
                out.add(id);
            } else {
                // Not a piece: spell it byte by byte, as llama.cpp does; a missing byte is unknown.
                for (int i = 0; i < symbol.length(); i++) {
                    int b = vocab.id(String.valueOf(symbol.charAt(i)));
                    out.add(b >= 0 ? b : vocab.unknownFor(symbol));
                }
            }
        }
    }

    @Override
    public String decode(int token) {
        return new String(decodeBytes(token), StandardCharsets.UTF_8);
    }

    @Override
    public byte[] decodeBytes(int token) {
        vocab.check(token);
        String piece = vocab.pieces()[token];
        return switch (vocab.type(token)) {
            case Vocabulary.CONTROL -> new byte[0];
            // User-defined pieces are stored as plain text, not in the byte-level alphabet.
            case Vocabulary.USER_DEFINED -> piece.getBytes(StandardCharsets.UTF_8);
            default -> {
                byte[] b = ByteLevelAlphabet.decode(piece);
                yield b != null ? b : piece.getBytes(StandardCharsets.UTF_8);
            }
        };
    }
}
