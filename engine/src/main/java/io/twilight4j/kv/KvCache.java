package io.twilight4j.kv;

/**
 * A paged KV cache owned by one backend: the pager (shared host logic) plus the backend's storage of
 * K, V and the metadata kept on append (Quest page bounds, 4-bit keys, Double Sparsity labels), the
 * 4-bit copies (keys, page bounds) smoothed per channel where a {@link KeySmoothing} is given.
 * Close it to release its memory.
 */
public interface KvCache extends AutoCloseable {

    /** The cache's shape. */
    KvShape shape();

    /** Page allocation and sequence lengths. */
    KvPager pager();

    /** Label channels of the Double Sparsity cache, or null when the shape has none. */
    LabelChannels labelChannels();

    /** The smoothing of the 4-bit keys, or null when they quantize the keys as they are. */
    KeySmoothing keySmoothing();

    /**
     * Stores keys and values for positions {@code [position, position + tokens)} of {@code seq} in
     * {@code layer} (positions must already be taken with {@link KvPager#append}) and updates the
     * page bounds, 4-bit keys and labels of those tokens.
     *
     * @param k {@code [tokens][kvHeads][headDim]} keys, row-major
     * @param v same shape as {@code k}
     */
    void write(int layer, int seq, int position, float[] k, float[] v, int tokens);

    /** Releases the backend memory. */
    @Override
    void close();
}
