package io.twilight4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * SentencePiece BPE as llama.cpp runs it for {@code tokenizer.ggml.model = llama}: spaces become
 * {@code ▁} (with one prepended at the start and after a special token when add_space_prefix), the
 * text starts as one symbol per character, and the adjacent pair whose concatenation is the
 * highest-scoring vocabulary piece is merged until no pair is a piece (see {@link BigramMerger}).
 * Characters left that are not pieces are spelled as byte tokens {@code <0xXX>}.
 */
final class SentencePieceTokenizer extends VocabularyTokenizer {

    private static final char SPACE_MARK = '\u2581';

    private final boolean addSpacePrefix;
    private final SpecialTokenSplitter splitter;
    private final int[] byteTokens = new int[256];
    private final byte[][] tokenBytes;

    SentencePieceTokenizer(Vocabulary vocab, boolean addSpacePrefix) {
        super(vocab);
        this.addSpacePrefix = addSpacePrefix;
        this.splitter = new SpecialTokenSplitter(vocab);
        for (int b = 0; b < 256; b++) {
            byteTokens[b] = vocab.id(String.format("<0x%02X>", b));
        }
        tokenBytes = new byte[vocab.size()][];
        for (int t = 0; t < vocab.size(); t++) {
            tokenBytes[t] = bytesOf(t);
        }
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        List<Integer> out = new ArrayList<>();
        if (addBos && vocab.bos() >= 0) {
            out.add(vocab.bos());
        }
        boolean afterSpecial = true; // the text start counts as "after a special token"
        for (SpecialTokenSplitter.Fragment f : splitter.split(text, parseSpecial)) {
            if (f.isToken()) {
                out.add(f.token());
                afterSpecial = true;
            } else {
                String s = (addSpacePrefix && afterSpecial ? " " : "") + f.text();
                encodePlain(s.replace(' ', SPACE_MARK), out);
                afterSpecial = false;
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private void encodePlain(String text, List<Integer> out) {
        BigramMerger.PairScore score = (left, right) -> {
            int id = vocab.id(left + right);
            return id >= 0 ? vocab.scores()[id] : Float.NaN;
        };
        for (String piece : BigramMerger.merge(text, score)) {
            int id = vocab.id(piece);
            if (id >= 0) {
                out.add(id);
            } else {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                    int bt = byteTokens[b & 0xFF];
                    out.add(bt >= 0 ? bt : vocab.unknownFor(piece));
                }
            }
        }
    }

    private byte[] bytesOf(int token) {
        String piece = vocab.pieces()[token];
        return switch (vocab.type(token)) {
            case Vocabulary.CONTROL -> new byte[0];
            case Vocabulary.BYTE -> {
                if (!piece.matches("<0x[0-9A-Fa-f]{2}>")) {
                    throw new IllegalArgumentException("token " + token + ": byte token '" + piece + "' is not <0xXX>");
                }
                yield new byte[] {(byte) Integer.parseInt(piece.substring(3, 5), 16)};
            }
            default -> piece.replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
        };
    }

    @Override
    public String decode(int token) {
        return new String(decodeBytes(token), StandardCharsets.UTF_8);
    }

    @Override
    public byte[] decodeBytes(int token) {
        vocab.check(token);
        return tokenBytes[token].clone();
    }

    /** As llama.cpp: the space that add_space_prefix put in front of the text is taken off again. */
    @Override
    public String decode(int[] tokens) {
        String s = super.decode(tokens);
        return addSpacePrefix && s.startsWith(" ") ? s.substring(1) : s;
    }
}
