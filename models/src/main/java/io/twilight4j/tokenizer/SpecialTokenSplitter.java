package io.twilight4j.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Cuts text at special tokens written out literally (e.g. {@code <|eot_id|>}), as llama.cpp's
 * partition step: user-defined tokens always, control and unknown tokens only when asked; longest
 * match first, scanning left to right. The pieces between are left for the model's tokenizer.
 */
final class SpecialTokenSplitter {

    /** A stretch of plain text ({@code token} -1) or one special token. */
    record Fragment(String text, int token) {
        boolean isToken() {
            return token >= 0;
        }
    }

    private final List<Integer> always = new ArrayList<>();
    private final List<Integer> onRequest = new ArrayList<>();
    private final Vocabulary vocab;
    /** First characters of all special pieces: most positions are rejected with one lookup. */
    private final java.util.Set<Character> firstChars = new java.util.HashSet<>();

    SpecialTokenSplitter(Vocabulary vocab) {
        this.vocab = vocab;
        for (int i = 0; i < vocab.size(); i++) {
            if (vocab.pieces()[i].isEmpty()) {
                continue;
            }
            switch (vocab.type(i)) {
                case Vocabulary.USER_DEFINED -> always.add(i);
                case Vocabulary.CONTROL, Vocabulary.UNKNOWN -> onRequest.add(i);
                default -> { }
            }
        }
        Comparator<Integer> longestFirst = Comparator.comparingInt((Integer i) -> -vocab.pieces()[i].length());
        always.forEach(id -> firstChars.add(vocab.pieces()[id].charAt(0)));
        onRequest.forEach(id -> firstChars.add(vocab.pieces()[id].charAt(0)));
        always.sort(longestFirst);
        onRequest.sort(longestFirst);
    }

    /** The text cut into fragments; empty text gives no fragments. */
    List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> out = new ArrayList<>();
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            int match = longestMatch(text, i, parseSpecial);
            if (match < 0) {
                i++;
                continue;
            }
            if (i > plainStart) {
                out.add(new Fragment(text.substring(plainStart, i), -1));
            }
            out.add(new Fragment(vocab.pieces()[match], match));
            i += vocab.pieces()[match].length();
            plainStart = i;
        }
        if (plainStart < text.length()) {
            out.add(new Fragment(text.substring(plainStart), -1));
        }
        return out;
    }

    private int longestMatch(String text, int at, boolean parseSpecial) {
        int best = -1;
        if (!firstChars.contains(text.charAt(at))) {
            return best;
        }
        for (int id : always) {
            if (text.startsWith(vocab.pieces()[id], at)) {
                best = id;
                break;
            }
        }
        if (parseSpecial) {
            for (int id : onRequest) {
                if (text.startsWith(vocab.pieces()[id], at)) {
                    if (best < 0 || vocab.pieces()[id].length() > vocab.pieces()[best].length()) {
                        best = id;
                    }
                    break;
                }
            }
        }
        return best;
    }
}
