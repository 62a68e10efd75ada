package io.twilight4j.kv;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Memory layout of one layer's KV pool, shared by the CPU code, the OpenCL host code and (as
 * {@code -D} defines) the OpenCL kernels. Every array is indexed page-major then head, so one
 * (page, KV head) block is contiguous:
 * <pre>
 * K, V           fp16  [page][kvHead][token][headDim]           element offset {@link #kvOffset}
 * int4 codes     u4    one block of {@link #codeBlockBytes} per (page, kvHead), {@link #codeBlockOffset}, in
 *                      one of two orders ({@link CodeOrder}; {@link #code} reads a code in either):
 *                      TOKEN_ROWS   [token][headDim/2]: channel 2c in the low nibble, 2c+1 in the high;
 *                                   row offset {@link #codeOffset}
 *                      PAGE_COLUMNS [token / 16][channel][8 bytes] (pages of fewer than 16 tokens:
 *                                   [channel][ceil(pageTokens/2)]): token 2t in the low nibble, 2t+1 in
 *                                   the high; tokens t % 8 == 7 store code ^ 8 ({@link PageColumns})
 * int4 params    fp16  [page][kvHead][token][2] = (scale, min)  element offset {@link #paramOffset}
 * page bounds    fp16  [page][kvHead][2][headDim] = (min, max)  element offset {@link #boundsOffset};
 *                      exact, the state appends update
 * bound codes    u4    [page][kvHead][2 * headDim]            byte offset {@link #boundCodeOffset};
 *                      4-bit copy Quest reads ({@link PageBounds}): min row's channels,
 *                      then max row's, two codes per byte as the int4 codes
 * bound params   fp16  [page][kvHead][2] = (scale, min)         element offset {@link #boundParamOffset}
 * bound columns  u4    host cache only: the bound codes of groups of {@link #BOUND_GROUP_PAGES} pages as page
 *                      columns ({@link PageColumns}, the group's pages as its tokens, the 2 * headDim codes as
 *                      its channels): [group][kvHead][2 * headDim][BOUND_GROUP_PAGES / 2], byte offset
 *                      {@link #boundColumnOffset}
 * labels         u8    [page][kvHead][token][r/4]               2-bit codes, channel j at bits 2(j%4)
 * label params   fp16  [page][kvHead][token][2] = (scale, min)  same indexing as int4 params
 * </pre>
 * Dequantization: {@code k = code * scale + min} (TWILIGHT.md section 4).
 */
public record KvLayout(KvShape shape, CodeOrder codeOrder) {

    /**
     * How a (page, KV head) block holds its tokens' 4-bit key codes. The OpenCL kernels read token rows: a
     * candidate's codes are one coalesced read, and scattered candidates (Double Sparsity) cost no more
     * than whole pages. The host cache keeps page columns ({@link PageColumns}): a vector of consecutive
     * tokens' codes of one channel meets one broadcast query value, so a page is scored with no lane sums
     * (1.5x faster per token than rows on AVX2, bench/results/cpu-2026-12-07-session24); a cache that
     * carries Double Sparsity's labels keeps token rows as well, for DS's scattered candidates.
     */
    public enum CodeOrder { TOKEN_ROWS, PAGE_COLUMNS }

    public KvLayout {
        if (shape == null || codeOrder == null) {
            throw new IllegalArgumentException("KvLayout needs a shape and a code order, got " + shape + ", " + codeOrder);
        }
    }

    /** The layout with token-row codes, as the OpenCL kernels read them. */
    public KvLayout(KvShape shape) {
        this(shape, CodeOrder.TOKEN_ROWS);
    }

    /** fp16 elements of K (or V) in one page, all heads. */
    public long kvElementsPerPage() {
        return (long) shape.kvHeads() * shape.pageTokens() * shape.headDim();
    }

    /** Element offset of (page, head, token, channel 0) in the K or V array. */
    public long kvOffset(int page, int head, int token) {
        return (((long) page * shape.kvHeads() + head) * shape.pageTokens() + token) * shape.headDim();
    }

    /**
     * The logical page of position {@code pos}: a shift when the page size is a power of two (the default
     * 16), where the sparse kernels would otherwise pay an integer division per token.
     */
    public int pageOf(int pos) {
        int p = shape.pageTokens();
        return (p & (p - 1)) == 0 ? pos >>> Integer.numberOfTrailingZeros(p) : pos / p;
    }

    /** The slot of position {@code pos} in its page (see {@link #pageOf}). */
    public int slotOf(int pos) {
        int p = shape.pageTokens();
        return (p & (p - 1)) == 0 ? pos & (p - 1) : pos % p;
    }

    /** Element offset of position {@code pos} of a sequence (its page table) and KV head in the K or V array. */
    public long kvOffset(int[] pageTable, int head, int pos) {
        return kvOffset(pageTable[pageOf(pos)], head, slotOf(pos));
    }

    /** Bytes of 4-bit codes per token and head. */
    public int codeBytesPerToken() {
        return shape.headDim() / 2;
    }

    /** Bytes of one (page, head) block of int4 codes. */
    public long codeBlockBytes() {
        return codeOrder == CodeOrder.TOKEN_ROWS
                ? (long) shape.pageTokens() * codeBytesPerToken()
                : PageColumns.blockBytes(shape.pageTokens(), shape.headDim());
    }

    /** Byte offset of (page, head)'s block in the int4 code array. */
    public long codeBlockOffset(int page, int head) {
        return ((long) page * shape.kvHeads() + head) * codeBlockBytes();
    }

    /** Byte offset of (page, head, token)'s row in an int4 code array of token rows ({@link #codeRowBytes} bytes). */
    public long codeOffset(int page, int head, int token) {
        return tokenIndex(page, head, token) * codeBytesPerToken();
    }

    /** The code of (page, head, token, channel) in a layer's code array {@code codes}, in either order. */
    public int code(MemorySegment codes, int page, int head, int token, int channel) {
        if (codeOrder == CodeOrder.PAGE_COLUMNS) {
            return PageColumns.get(codes, codeBlockOffset(page, head), shape.pageTokens(), shape.headDim(), token, channel);
        }
        int b = codes.get(ValueLayout.JAVA_BYTE, codeOffset(page, head, token) + channel / 2);
        return (b >> 4 * (channel % 2)) & 15;
    }

    /** Element offset of (page, head, token)'s (scale, min) pair, for int4 and label params alike. */
    public long paramOffset(int page, int head, int token) {
        return tokenIndex(page, head, token) * 2;
    }

    /** Element offset of (page, head)'s min row; the max row follows after headDim elements. */
    public long boundsOffset(int page, int head) {
        return ((long) page * shape.kvHeads() + head) * 2L * shape.headDim();
    }

    /** Byte offset of (page, head)'s 4-bit bound codes (min row, then max row, headDim bytes in all). */
    public long boundCodeOffset(int page, int head) {
        return ((long) page * shape.kvHeads() + head) * PageBounds.codeBytes(shape.headDim());
    }

    /** Pages per group of the host cache's bound columns. */
    public static final int BOUND_GROUP_PAGES = 16;

    /** Byte offset of the bound-column block of (page, head)'s group; the page is slot page % BOUND_GROUP_PAGES. */
    public long boundColumnOffset(int page, int head) {
        return ((long) page / BOUND_GROUP_PAGES * shape.kvHeads() + head) * boundColumnBlockBytes();
    }

    /** Bytes of one (group, head) block of bound columns. */
    public long boundColumnBlockBytes() {
        return PageColumns.blockBytes(BOUND_GROUP_PAGES, 2 * shape.headDim());
    }

    /** Bytes of one layer's bound columns. */
    public long boundColumnBytes() {
        return ((long) shape.pages() + BOUND_GROUP_PAGES - 1) / BOUND_GROUP_PAGES * shape.kvHeads() * boundColumnBlockBytes();
    }

    /** Element offset of (page, head)'s 4-bit bound range (scale, min). */
    public long boundParamOffset(int page, int head) {
        return ((long) page * shape.kvHeads() + head) * 2L;
    }

    /** Bytes of 2-bit label codes per token and head. */
    public int labelBytesPerToken() {
        return shape.labelChannels() / 4;
    }

    /** Byte offset of (page, head, token) in the label array. */
    public long labelOffset(int page, int head, int token) {
        return tokenIndex(page, head, token) * labelBytesPerToken();
    }

    /** Flat (page, head, token) index. */
    public long tokenIndex(int page, int head, int token) {
        return ((long) page * shape.kvHeads() + head) * shape.pageTokens() + token;
    }

    /** fp16 elements of one layer's K (or V) array. */
    public long kvElements() {
        return (long) shape.pages() * kvElementsPerPage();
    }

    /** Bytes of one layer's int4 code array, in this layout's code order. */
    public long codeBytes() {
        return (long) shape.pages() * shape.kvHeads() * codeBlockBytes();
    }

    /** Bytes of one layer's int4 codes as token rows ({@link #codeOffset}). */
    public long codeRowBytes() {
        return tokenSlots() * codeBytesPerToken();
    }

    /** fp16 elements of one layer's param array (int4 or label). */
    public long paramElements() {
        return tokenSlots() * 2;
    }

    /** fp16 elements of one layer's page-bounds array. */
    public long boundsElements() {
        return (long) shape.pages() * shape.kvHeads() * 2L * shape.headDim();
    }

    /** Bytes of one layer's 4-bit bound codes. */
    public long boundCodeBytes() {
        return (long) shape.pages() * shape.kvHeads() * PageBounds.codeBytes(shape.headDim());
    }

    /** fp16 elements of one layer's bound ranges. */
    public long boundParamElements() {
        return (long) shape.pages() * shape.kvHeads() * 2L;
    }

    /** Bytes of one layer's label array. */
    public long labelBytes() {
        return tokenSlots() * labelBytesPerToken();
    }

    private long tokenSlots() {
        return (long) shape.pages() * shape.kvHeads() * shape.pageTokens();
    }

    /** The layout constants as preprocessor defines for the OpenCL kernels (which read token-row codes). */
    public Map<String, Integer> kernelDefines() {
        if (codeOrder != CodeOrder.TOKEN_ROWS) {
            throw new IllegalStateException("the OpenCL kernels read token-row codes, not " + codeOrder);
        }
        Map<String, Integer> d = new LinkedHashMap<>();
        d.put("KV_HEADS", shape.kvHeads());
        d.put("HEAD_DIM", shape.headDim());
        d.put("PAGE_TOKENS", shape.pageTokens());
        d.put("LABEL_CHANNELS", shape.labelChannels());
        d.put("CODE_BYTES", codeBytesPerToken());
        d.put("LABEL_BYTES", labelBytesPerToken());
        d.put("BOUND_LEVELS", PageBounds.LEVELS);
        d.put("SCORE_SCALE_BITS", Float.floatToRawIntBits(shape.scoreScale()));
        return d;
    }
}
