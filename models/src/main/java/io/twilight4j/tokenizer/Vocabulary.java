package io.twilight4j.tokenizer;

import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufFormatException;
import java.util.HashMap;
import java.util.Map;

/**
 * A tokenizer vocabulary as GGUF stores it: pieces, merge scores, token types and the special ids.
 * Token types follow llama.cpp: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
 */
record Vocabulary(String[] pieces, float[] scores, int[] types, Map<String, Integer> ids,
                  int bos, int eos, int unknown, boolean addBos) {

    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int BYTE = 6;

    /** A vocabulary from plain arrays (scores and types may be null: 0 and normal). */
    static Vocabulary of(String[] pieces, float[] scores, int[] types, int bos, int eos, int unknown, boolean addBos) {
        float[] s = scores != null ? scores : new float[pieces.length];
        int[] t = types != null ? types : filled(pieces.length, NORMAL);
        if (s.length != pieces.length || t.length != pieces.length) {
            throw new IllegalArgumentException("vocabulary: " + pieces.length + " tokens but " + s.length
                    + " scores and " + t.length + " types");
        }
        Map<String, Integer> ids = new HashMap<>(pieces.length * 2);
        for (int i = 0; i < pieces.length; i++) {
            ids.putIfAbsent(pieces[i], i);
        }
        return new Vocabulary(pieces, s, t, ids, bos, eos, unknown, addBos);
    }

    /** Reads {@code tokenizer.ggml.*}; ids must lie inside the vocabulary. */
    static Vocabulary fromGguf(GgufFile f) throws GgufFormatException {
        String[] pieces = f.getStringArray("tokenizer.ggml.tokens");
        float[] scores = f.has("tokenizer.ggml.scores") ? f.getFloatArray("tokenizer.ggml.scores") : null;
        int[] types = f.has("tokenizer.ggml.token_type") ? f.getIntArray("tokenizer.ggml.token_type") : null;
        if ((scores != null && scores.length != pieces.length) || (types != null && types.length != pieces.length)) {
            throw new GgufFormatException(f.path() + ": metadata 'tokenizer.ggml.scores'/'token_type': lengths "
                    + (scores == null ? "-" : scores.length) + "/" + (types == null ? "-" : types.length)
                    + " differ from the " + pieces.length + " tokens");
        }
        boolean spm = "llama".equals(f.getString("tokenizer.ggml.model", ""));
        int bos = tokenId(f, "tokenizer.ggml.bos_token_id", spm ? 1 : -1, pieces.length);
        int eos = tokenId(f, "tokenizer.ggml.eos_token_id", spm ? 2 : -1, pieces.length);
        int unknown = tokenId(f, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, pieces.length);
        // llama.cpp adds BOS by default for SPM; for GPT-2 BPE the file says so (Llama 3 does).
        boolean addBos = f.getBoolean("tokenizer.ggml.add_bos_token", spm);
        return of(pieces, scores, types, bos, eos, unknown, addBos);
    }

    private static int tokenId(GgufFile f, String key, int dflt, int vocabSize) throws GgufFormatException {
        long id = f.getLong(key, dflt);
        if (id == 0xFFFF_FFFFL || id == -1) {
            return -1; // llama.cpp writes u32 max for "none"
        }
        if (id < 0 || id >= vocabSize) {
            throw new GgufFormatException(f.path() + ": metadata '" + key + "': token id " + id
                    + " is outside the vocabulary of " + vocabSize);
        }
        return (int) id;
    }

    int size() {
        return pieces.length;
    }

    int type(int token) {
        return types[token];
    }

    /** Id of a piece, or -1. */
    int id(String piece) {
        Integer id = ids.get(piece);
        return id == null ? -1 : id;
    }

    /** Fails with the id and vocabulary size when {@code token} is outside the vocabulary. */
    void check(int token) {
        if (token < 0 || token >= pieces.length) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary of " + pieces.length);
        }
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
