package io.twilight4j.tokenizer;

import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufFormatException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Turns text into token ids and token ids into bytes, as llama.cpp does for the GGUF's tokenizer model. */
public interface Tokenizer {

    /** Token ids of {@code text}; BOS first when {@code addBos}; control tokens written as text are matched when {@code parseSpecial}. */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /** The token's text (UTF-8 of {@link #decodeBytes}; a lone byte token decodes to U+FFFD). */
    String decode(int token);

    /** The bytes the token stands for in output text; control tokens stand for nothing. */
    byte[] decodeBytes(int token);

    /** Beginning-of-sequence token id. */
    int bos();

    /** End-of-sequence token id. */
    int eos();

    /** Number of tokens in the vocabulary. */
    int vocabSize();

    /** True for control tokens (BOS, EOS, chat markers): never printed. */
    boolean isSpecial(int token);

    /** The vocabulary entry as stored in the file, e.g. {@code ▁the} or {@code <s>}. */
    String piece(int token);

    /** Whether the model expects BOS at the start of a prompt ({@code tokenizer.ggml.add_bos_token}). */
    boolean addBosByDefault();

    /** The text of a whole token sequence, as llama.cpp's detokenize (invalid UTF-8 becomes U+FFFD). */
    default String decode(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int t : tokens) {
            out.writeBytes(decodeBytes(t));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * A SentencePiece BPE tokenizer over plain arrays laid out as GGUF's {@code tokenizer.ggml.*}
     * (for models built in memory); scores and types may be null (0 and normal).
     */
    static Tokenizer sentencePiece(String[] pieces, float[] scores, int[] types, int bos, int eos, int unknown) {
        return new SentencePieceTokenizer(Vocabulary.of(pieces, scores, types, bos, eos, unknown, true), true);
    }

    /**
     * The tokenizer named by {@code tokenizer.ggml.model}: {@code llama} (SentencePiece BPE) or
     * {@code gpt2} (byte-level BPE). Bad or missing vocabulary: IllegalArgumentException naming file and key.
     */
    static Tokenizer fromGguf(GgufFile f) {
        try {
            String model = f.getString("tokenizer.ggml.model");
            Vocabulary vocab = Vocabulary.fromGguf(f);
            return switch (model) {
                case "llama" -> new SentencePieceTokenizer(vocab, f.getBoolean("tokenizer.ggml.add_space_prefix", true));
                case "gpt2" -> new Gpt2BpeTokenizer(vocab, Gpt2BpeTokenizer.mergesFromGguf(f),
                        f.getString("tokenizer.ggml.pre", "default"));
                default -> throw new IllegalArgumentException(f.path() + ": metadata 'tokenizer.ggml.model': tokenizer '"
                        + model + "' is not supported (only 'llama' and 'gpt2')");
            };
        } catch (GgufFormatException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
