package io.twilight4j.kv;

/** Asymmetric min/max quantization shared by the 4-bit keys and the 2-bit labels. */
final class Quantizer {

    private Quantizer() {
    }

    /**
     * Quantizes {@code n} values (channels {@code channels[j]} of the row at {@code off}, or the
     * first n when {@code channels} is null) to codes in [0, levels], {@code perByte} codes per byte,
     * code j at bits {@code (8/perByte) * (j % perByte)}. The scale is rounded to fp16 before the
     * codes are computed, so dequantizing with the stored scale reproduces them.
     */
    static int quantize(float[] k, int[] channels, int off, int n, int levels, byte[] codes, int codeOff, int perByte) {
        float mn = Float.POSITIVE_INFINITY;
        float mx = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            float x = k[off + (channels == null ? j : channels[j])];
            mn = Math.min(mn, x);
            mx = Math.max(mx, x);
        }
        short scale16 = Float.floatToFloat16((mx - mn) / levels);
        float scale = Float.float16ToFloat(scale16);
        // A constant row (scale 0) gets code 0 everywhere: min alone reproduces it.
        float inv = scale > 0 ? 1f / scale : 0f;
        int bits = 8 / perByte;
        for (int b = 0; b < n / perByte; b++) {
            int packed = 0;
            for (int s = 0; s < perByte; s++) {
                int j = b * perByte + s;
                float x = k[off + (channels == null ? j : channels[j])];
                int code = (int) Math.floor((x - mn) * inv + 0.5f);
                code = Math.max(0, Math.min(levels, code));
                packed |= code << (bits * s);
            }
            codes[codeOff + b] = (byte) packed;
        }
        return (scale16 & 0xffff) << 16 | (Float.floatToFloat16(mn) & 0xffff);
    }

    /** The scale of a packed (scale, min) pair. */
    static float scale(int packed) {
        return Float.float16ToFloat((short) (packed >>> 16));
    }

    /** The min of a packed (scale, min) pair. */
    static float min(int packed) {
        return Float.float16ToFloat((short) packed);
    }
}
