package io.twilight4j.attention;

/**
 * The head-balanced schedule (TWILIGHT.md section 5): entries (sequence, KV head or query head) with
 * budgets that differ by 100x are cut into chunks of about equal size, so every worker gets about the
 * same number of tokens. Chunks of one entry are consecutive; their partial states are merged later.
 */
public final class ChunkSchedule {

    /**
     * Chunks per worker to aim for: enough to even out the tail when the OS takes a core away for a
     * while (a shared machine), few enough to keep merges cheap (a merge is a few vector ops per head).
     */
    static final int CHUNKS_PER_WORKER = 8;

    private final int[] entry;
    private final int[] from;
    private final int[] to;
    private final int[] firstItem;
    private int items;

    /** A schedule for up to {@code maxEntries} entries and {@code workers} workers. */
    public ChunkSchedule(int maxEntries, int workers) {
        int maxItems = maxItems(maxEntries, workers);
        entry = new int[maxItems];
        from = new int[maxItems];
        to = new int[maxItems];
        firstItem = new int[maxEntries + 1];
    }

    /**
     * Cuts entries with {@code tokens[e]} tokens each into chunks of at least {@code minChunk} tokens
     * (a multiple of {@code align}) and about total / (workers * 4) tokens. Every entry gets at least one
     * chunk (an empty one yields an empty state).
     */
    public void build(int[] tokens, int entries, int workers, int minChunk, int align) {
        long total = 0;
        for (int e = 0; e < entries; e++) {
            total += tokens[e];
        }
        long target = Math.max(minChunk, (total + (long) workers * CHUNKS_PER_WORKER - 1) / ((long) workers * CHUNKS_PER_WORKER));
        int n = 0;
        for (int e = 0; e < entries; e++) {
            firstItem[e] = n;
            int len = tokens[e];
            int pieces = (int) Math.max(1, (len + target - 1) / target);
            int step = pieceLength(len, pieces, align);
            int start = 0;
            do {
                entry[n] = e;
                from[n] = start;
                to[n] = Math.min(len, start + Math.max(step, 1));
                start = to[n];
                n++;
            } while (start < len);
        }
        firstItem[entries] = n;
        items = n;
    }

    /**
     * The length of each of {@code pieces} equal pieces of {@code len} tokens, rounded up to a multiple of
     * {@code align} (page-sized blocks for dense decode), at most {@code len}; the last piece may be shorter
     * or, after the rounding, empty.
     */
    public static int pieceLength(int len, int pieces, int align) {
        return Math.min(len, ((len + pieces - 1) / pieces + align - 1) / align * align);
    }

    /** Most chunks a schedule of {@code maxEntries} entries for {@code workers} workers holds. */
    public static int maxItems(int maxEntries, int workers) {
        return 2 * maxEntries + CHUNKS_PER_WORKER * workers;
    }

    /** Chunks in the schedule. */
    public int items() {
        return items;
    }

    /** Entry of chunk {@code i}. */
    public int entry(int i) {
        return entry[i];
    }

    /** First token index of chunk {@code i} within its entry. */
    public int from(int i) {
        return from[i];
    }

    /** End (exclusive) token index of chunk {@code i}. */
    public int to(int i) {
        return to[i];
    }

    /** First chunk of entry {@code e}; chunks of e end at {@code firstItem(e + 1)}. */
    public int firstItem(int e) {
        return firstItem[e];
    }
}
