package io.twilight4j.backend;

import io.twilight4j.kv.KeySmoothing;

/**
 * Float64 re-derivation of Twilight's estimate from TWILIGHT.md section 4, independent of the
 * engine's quantizer: 4-bit min/max quantization per key (scale rounded to fp16 as stored), the 8-bit
 * query ({@link Int8QueryReference}), then softmax of q.k^/sqrt(d) over every token; with key smoothing,
 * of the smoothed key and query.
 */
final class Int4Reference {

    private Int4Reference() {
    }

    /** The dequantized 4-bit copy of key row {@code k}. */
    static double[] dequantized(double[] k) {
        double mn = Double.POSITIVE_INFINITY;
        double mx = Double.NEGATIVE_INFINITY;
        for (double x : k) {
            mn = Math.min(mn, x);
            mx = Math.max(mx, x);
        }
        double scale = Float.float16ToFloat(Float.floatToFloat16((float) ((mx - mn) / 15)));
        double[] out = new double[k.length];
        for (int c = 0; c < k.length; c++) {
            long code = scale == 0 ? 0 : Math.max(0, Math.min(15, (long) Math.floor((k[c] - mn) / scale + 0.5)));
            out[c] = code * scale + mn;
        }
        return out;
    }

    /** Estimated weights of query head {@code qh} of slot {@code b} over all its tokens. */
    static double[] estimatedWeights(Workload w, int layer, int b, int qh, float[] q) {
        return estimatedWeights(w, layer, b, qh, q, null);
    }

    /**
     * As above from a cache with key smoothing (null: none): the 4-bit copy of k_c / 2^e_c and the 8-bit
     * query of q_c * 2^e_c.
     */
    static double[] estimatedWeights(Workload w, int layer, int b, int qh, float[] q, KeySmoothing smoothing) {
        int dim = w.shape.headDim();
        int kvHead = qh / (w.queryHeads / w.shape.kvHeads());
        int n = w.lengths[b];
        int[] e = smoothing == null ? new int[dim] : smoothing.exponentsOf(layer, kvHead);
        double[] s = new double[n];
        float[] row = new float[dim];
        for (int c = 0; c < dim; c++) {
            row[c] = (float) (q[(b * w.queryHeads + qh) * dim + c] * Math.pow(2, e[c]));
        }
        double[] qq = Int8QueryReference.dequantized(row, 0, dim);
        for (int t = 0; t < n; t++) {
            double[] key = w.keys[layer][b][kvHead][t].clone();
            for (int c = 0; c < dim; c++) {
                key[c] *= Math.pow(2, -e[c]);
            }
            double[] k = dequantized(key);
            double dot = 0;
            for (int c = 0; c < dim; c++) {
                dot += qq[c] * k[c];
            }
            s[t] = dot / Math.sqrt(dim);
        }
        return Workload.softmax(s);
    }
}
