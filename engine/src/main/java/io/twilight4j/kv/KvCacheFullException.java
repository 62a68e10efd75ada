package io.twilight4j.kv;

/** The page pool cannot hold the tokens asked for; the cache is unchanged. */
public final class KvCacheFullException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** An exception with a message that says how many pages were needed and free. */
    public KvCacheFullException(String message) {
        super(message);
    }
}
