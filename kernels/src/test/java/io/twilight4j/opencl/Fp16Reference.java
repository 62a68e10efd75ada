package io.twilight4j.opencl;

/** Host reference of the quantization rules in TWILIGHT.md section 4, written from the spec. */
final class Fp16Reference {

    private Fp16Reference() {
    }

    static float half(float x) {
        return Float.float16ToFloat(Float.floatToFloat16(x));
    }

    /** (scale16, min) and codes of {@code bits}-bit asymmetric quantization of {@code x}. */
    static float[] quantize(float[] x, int bits, int[] codes) {
        float mn = Float.POSITIVE_INFINITY, mx = Float.NEGATIVE_INFINITY;
        for (float f : x) {
            mn = Math.min(mn, f);
            mx = Math.max(mx, f);
        }
        int levels = (1 << bits) - 1;
        float scale = half((mx - mn) / levels);
        float inv = scale > 0 ? 1f / scale : 0f;
        for (int i = 0; i < x.length; i++) {
            codes[i] = Math.clamp((int) Math.floor((x[i] - mn) * inv + 0.5f), 0, levels);
        }
        return new float[] {scale, mn};
    }
}
