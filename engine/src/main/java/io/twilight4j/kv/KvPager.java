package io.twilight4j.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Host-side page allocation shared by every backend: which pages hold which sequence, and how long
 * each sequence is. All layers use the same page numbers (a page index names the same slot in every
 * layer's pool). Not thread-safe: one decoder owns it.
 */
public final class KvPager {

    private final int pageTokens;
    private final int[] freeStack;
    private int freeCount;
    private final List<Sequence> sequences = new ArrayList<>();
    private long creations;

    private static final class Sequence {
        final long creation;
        int[] pages = new int[4];
        int pageCount;
        int length;
        boolean live = true;

        Sequence(long creation) {
            this.creation = creation;
        }
    }

    /** A pager over {@code pages} pages of {@code pageTokens} tokens. */
    public KvPager(int pages, int pageTokens) {
        if (pages <= 0 || pageTokens <= 0) {
            throw new IllegalArgumentException("pager needs pages > 0 and pageTokens > 0, got " + pages + ", " + pageTokens);
        }
        this.pageTokens = pageTokens;
        this.freeStack = new int[pages];
        // Lowest page numbers are handed out first, which keeps a fresh cache's pages in order.
        for (int i = 0; i < pages; i++) {
            freeStack[i] = pages - 1 - i;
        }
        this.freeCount = pages;
    }

    /** Starts an empty sequence and returns its id (ids of freed sequences are reused). */
    public int newSequence() {
        for (int id = 0; id < sequences.size(); id++) {
            if (!sequences.get(id).live) {
                sequences.set(id, new Sequence(++creations));
                return id;
            }
        }
        sequences.add(new Sequence(++creations));
        return sequences.size() - 1;
    }

    /**
     * Grows sequence {@code seq} by {@code tokens} positions, taking pages as needed, and returns
     * the first new position. When the pool cannot hold them, throws and changes nothing.
     */
    public int append(int seq, int tokens) {
        Sequence s = live(seq);
        if (tokens <= 0) {
            throw new IllegalArgumentException("append: token count must be positive, got " + tokens);
        }
        long newLength = (long) s.length + tokens;
        long neededPages = (newLength + pageTokens - 1) / pageTokens - s.pageCount;
        if (neededPages > freeCount) {
            throw new KvCacheFullException("KV cache full: sequence " + seq + " needs " + neededPages
                    + " more pages of " + pageTokens + " tokens, " + freeCount + " free");
        }
        if (s.pageCount + neededPages > s.pages.length) {
            s.pages = Arrays.copyOf(s.pages, (int) Math.max(s.pages.length * 2L, s.pageCount + neededPages));
        }
        for (long i = 0; i < neededPages; i++) {
            s.pages[s.pageCount++] = freeStack[--freeCount];
        }
        int start = s.length;
        s.length = (int) newLength;
        return start;
    }

    /** Frees every page of {@code seq}; its id may be reused. */
    public void free(int seq) {
        Sequence s = live(seq);
        for (int i = 0; i < s.pageCount; i++) {
            freeStack[freeCount++] = s.pages[i];
        }
        s.pageCount = 0;
        s.length = 0;
        s.live = false;
    }

    /** Tokens held by {@code seq}. */
    public int length(int seq) {
        return live(seq).length;
    }

    /** Physical page that holds logical page {@code logicalPage} of {@code seq}. */
    public int page(int seq, int logicalPage) {
        Sequence s = live(seq);
        if (logicalPage < 0 || logicalPage >= s.pageCount) {
            throw new IndexOutOfBoundsException("sequence " + seq + " has " + s.pageCount + " pages, asked for " + logicalPage);
        }
        return s.pages[logicalPage];
    }

    /** Pages in use by {@code seq}. */
    public int pageCount(int seq) {
        return live(seq).pageCount;
    }

    /** Copies {@code seq}'s page table into {@code dst} at {@code offset}; returns the page count. */
    public int copyPageTable(int seq, int[] dst, int offset) {
        Sequence s = live(seq);
        System.arraycopy(s.pages, 0, dst, offset, s.pageCount);
        return s.pageCount;
    }

    /**
     * Copies {@code seq}'s pages from logical page {@code from} on into {@code dst} at the same indices;
     * returns the page count. A live sequence's pages never change once taken (they are only added),
     * so a caller that holds the first {@code from} of them needs only the rest.
     */
    public int copyPagesFrom(int seq, int from, int[] dst) {
        Sequence s = live(seq);
        System.arraycopy(s.pages, from, dst, from, s.pageCount - from);
        return s.pageCount;
    }

    /**
     * A number unique to the creation of {@code seq}: an id reused after {@link #free} gets a new one,
     * so a cached copy of a page table can tell that it belongs to another sequence.
     */
    public long creation(int seq) {
        return live(seq).creation;
    }

    /** Pages not held by any sequence. */
    public int freePages() {
        return freeCount;
    }

    /** Tokens per page. */
    public int pageTokens() {
        return pageTokens;
    }

    /** Whether {@code seq} names a live sequence. */
    public boolean isLive(int seq) {
        return seq >= 0 && seq < sequences.size() && sequences.get(seq).live;
    }

    private Sequence live(int seq) {
        if (!isLive(seq)) {
            throw new IllegalArgumentException("no live sequence with id " + seq);
        }
        return sequences.get(seq);
    }
}
