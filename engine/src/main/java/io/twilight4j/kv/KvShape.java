package io.twilight4j.kv;

/**
 * Shape of one KV cache: what every backend sizes its storage from.
 *
 * @param layers        transformer layers, each with its own pages
 * @param kvHeads       key/value heads per layer
 * @param headDim       channels per head (even: two 4-bit codes share a byte)
 * @param pageTokens    tokens per page (Quest's page size P, default 16)
 * @param pages         pages per layer; all sequences share this pool
 * @param labelChannels Double Sparsity label channels r per KV head (0: no label cache)
 */
public record KvShape(int layers, int kvHeads, int headDim, int pageTokens, int pages, int labelChannels) {

    /** Quest's page size in the paper and our default. */
    public static final int DEFAULT_PAGE_TOKENS = 16;

    public KvShape {
        require(layers > 0, "layers", layers);
        require(kvHeads > 0, "kvHeads", kvHeads);
        require(headDim > 0 && headDim % 4 == 0 && headDim <= 512, "headDim (a multiple of 4, at most 512)", headDim);
        require(pageTokens > 0 && pageTokens <= 1024, "pageTokens (1..1024)", pageTokens);
        require(pages > 0, "pages", pages);
        require(labelChannels >= 0 && labelChannels <= headDim && labelChannels % 4 == 0,
                "labelChannels (0..headDim, a multiple of 4)", labelChannels);
        long tokens = (long) pages * pageTokens;
        require(tokens <= Integer.MAX_VALUE, "pages * pageTokens", tokens);
    }

    /** A shape with the default page size and room for {@code tokens} tokens in total. */
    public static KvShape forTokens(int layers, int kvHeads, int headDim, long tokens, int labelChannels) {
        long pages = Math.max(1, (tokens + DEFAULT_PAGE_TOKENS - 1) / DEFAULT_PAGE_TOKENS);
        if (pages > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("KV cache of " + tokens + " tokens is too large");
        }
        return new KvShape(layers, kvHeads, headDim, DEFAULT_PAGE_TOKENS, (int) pages, labelChannels);
    }

    /** Token capacity of one layer's pool. */
    public int capacityTokens() {
        return pages * pageTokens;
    }

    /**
     * The attention score scale 1/sqrt(headDim) as a float: computed once here so every backend (the
     * OpenCL kernels get its bits as a define) scales by the same value.
     */
    public float scoreScale() {
        return (float) (1 / Math.sqrt(headDim));
    }

    private static void require(boolean ok, String what, long value) {
        if (!ok) {
            throw new IllegalArgumentException("KV shape: invalid " + what + ": " + value);
        }
    }
}
