package io.twilight4j.attention;

/**
 * One worker thread's scratch for the CPU pipeline, sized once at plan time so steps allocate
 * nothing: a block of K and V rows as floats, block logits, and score buffers for selection and
 * pruning.
 */
public final class Workspace {

    /** Tokens per block of the attention kernels. */
    public static final int BLOCK = 32;
    /** Scratch floats top-p needs besides one per candidate (TopPThreshold.SCRATCH_EXTRA). */
    static final int TOP_P_EXTRA = 4096;

    public final float[] keyBlock;
    public final float[] valueBlock;
    /** A sparse block's K and V rows as stored (fp16), gathered before one conversion of the block. */
    public final short[] keyHalves;
    public final short[] valueHalves;
    public final float[] logits;
    /** Per query head of a group: the factor that rescales the output before a block is added. */
    public final float[] corrections;
    /** Scores of up to {@code maxScores} tokens or pages (selection, estimation). */
    public final float[] scores;
    /** Second score buffer (top-p's histograms and compacted weights, 4096 floats more). */
    public final float[] scratch;
    /** Index scratch (selected pages). */
    public final int[] indices;
    /** Byte offsets of code blocks: two blocks of tokens' 4-bit key blocks (double-buffered), or a block of pages' bound codes of one head. */
    public final long[] rowOffsets = new long[2 * BLOCK];
    /** (scale, min) of the 4-bit keys of two blocks of tokens: [block][scale | min][BLOCK]. */
    public final float[] tokenParams = new float[4 * BLOCK];
    /**
     * Byte offsets of the rows or blocks of a block of tokens (or pages) that are asked for before use
     * ({@link io.twilight4j.kv.CacheLines#prefetch}), and of their 4-bit key params. The attention kernel uses
     * them as the row offsets (aheadParams) and the addresses (aheadOffsets) of
     * {@link io.twilight4j.kv.CacheLines#prefetchRows}.
     */
    public final long[] aheadOffsets = new long[BLOCK];
    public final long[] aheadParams = new long[BLOCK];
    /** Query rows prepared per head: the 4-bit estimate's single-token queries (PageColumns), label channels. */
    public final float[] queryScratch;
    /** Lookup tables (Double Sparsity label scores). */
    public final float[] table;
    /** One code row as floats: a page's bound codes or a token's 4-bit key (where Nibbles.dots unpacks). */
    public final float[] codeRow;
    /** Page scoring's dot products of a block of pages, every KV head's query heads: [kvHead][g][BLOCK]. */
    public final float[] pageDots;
    /** Page scoring's (scale, min) of a block of pages: [kvHead][scale | min][BLOCK]. */
    public final float[] pageParams;

    /** Scratch for heads of {@code dim} channels, {@code groupHeads} query heads per entry, up to {@code maxScores} scores per head. */
    public Workspace(int dim, int groupHeads, int maxScores) {
        this(dim, groupHeads, 1, maxScores);
    }

    /** Scratch as above, for sequences of {@code kvHeads} KV heads scored at once. */
    public Workspace(int dim, int groupHeads, int kvHeads, int maxScores) {
        this.keyBlock = new float[BLOCK * dim];
        this.valueBlock = new float[BLOCK * dim];
        this.keyHalves = new short[BLOCK * dim];
        this.valueHalves = new short[BLOCK * dim];
        this.logits = new float[groupHeads * BLOCK];
        this.corrections = new float[groupHeads];
        this.scores = new float[groupHeads * maxScores];
        this.scratch = new float[Math.max(maxScores, 1) + TOP_P_EXTRA];
        this.indices = new int[Math.max(maxScores, 1)];
        this.queryScratch = new float[groupHeads * dim * 4];
        this.table = new float[groupHeads * (dim / 4) * 256];
        this.codeRow = new float[2 * dim];
        this.pageDots = new float[kvHeads * groupHeads * BLOCK];
        this.pageParams = new float[2 * kvHeads * BLOCK];
    }
}
