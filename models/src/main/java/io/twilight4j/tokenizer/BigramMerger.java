package io.twilight4j.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The merge loop both BPE flavours share (llama.cpp's symbol list plus bigram queue): the text starts
 * as one symbol per code point, and the adjacent pair with the highest score is merged, leftmost
 * first on ties, until no adjacent pair has a score. SentencePiece scores a pair by the vocabulary
 * score of its concatenation, GPT-2 BPE by minus the rank of the merge rule.
 */
final class BigramMerger {

    /** Score of merging two adjacent symbols, or NaN when they may not merge. */
    @FunctionalInterface
    interface PairScore {
        float score(String left, String right);
    }

    private record Bigram(int left, int right, float score, int length) {
    }

    private BigramMerger() {
    }

    /** The final symbols of {@code text}, in order. */
    static List<String> merge(String text, PairScore pairScore) {
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n];
        int[] length = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, pos = 0; i < n; i++) {
            start[i] = pos;
            length[i] = Character.charCount(text.codePointAt(pos));
            pos += length[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        Offer offer = (left, right) -> {
            if (left >= 0 && right >= 0) {
                float s = pairScore.score(text.substring(start[left], start[left] + length[left]),
                        text.substring(start[right], start[right] + length[right]));
                if (!Float.isNaN(s)) {
                    queue.add(new Bigram(left, right, s, length[left] + length[right]));
                }
            }
        };
        for (int i = 1; i < n; i++) {
            offer.add(i - 1, i);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            // Stale when either side was merged away or grew since this pair was offered.
            if (length[b.left] == 0 || length[b.right] == 0 || length[b.left] + length[b.right] != b.length) {
                continue;
            }
            length[b.left] += length[b.right];
            length[b.right] = 0;
            next[b.left] = next[b.right];
            if (next[b.right] >= 0) {
                prev[next[b.right]] = b.left;
            }
            offer.add(prev[b.left], b.left);
            offer.add(b.left, next[b.left]);
        }
        List<String> symbols = new ArrayList<>();
        for (int i = n == 0 ? -1 : 0; i >= 0; i = next[i]) {
            symbols.add(text.substring(start[i], start[i] + length[i]));
        }
        return symbols;
    }

    private interface Offer {
        void add(int left, int right);
    }
}
