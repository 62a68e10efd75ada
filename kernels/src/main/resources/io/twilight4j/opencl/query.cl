// The 8-bit query rows the metadata scorers read (io.twilight4j.kv.Int8Query, same arithmetic bit for
// bit): per row of HEAD_DIM floats, codes c = rint(q / s) in [-127, 127] and the scale s, the smallest
// power of two with 127 s >= max|q| (0 when max|q| < 2^-100). Built from exponent bits, so the result
// does not depend on how the device rounds a division.
// quantize_queries: one work-item per row (b * QUERY_HEADS + query head); no local memory.

kernel void quantize_queries(global const float* q, int rows, global char* codes, global float* scales) {
    const int r = get_global_id(0);
    if (r >= rows) {
        return;
    }
    global const float* x = q + (size_t) r * HEAD_DIM;
    float amax = 0.0f;
    for (int c = 0; c < HEAD_DIM; c += 4) {
        const float4 v = fabs(vload4(0, x + c));
        amax = fmax(amax, fmax(fmax(v.x, v.y), fmax(v.z, v.w)));
    }
    float scale = 0.0f, inverse = 0.0f;
    if (amax >= as_float(27 << 23)) { // 2^-100: amax is a normal float
        // amax lies in [2^x, 2^(x+1)); 127 * 2^(x-6) may hold it, 127 * 2^(x-5) always does.
        const int x = ((as_int(amax) >> 23) & 0xff) - 127;
        const int e = amax <= 127.0f * as_float((x - 6 + 127) << 23) ? x - 6 : x - 5;
        scale = as_float((e + 127) << 23);
        inverse = as_float((127 - e) << 23);
    }
    global char* out = codes + (size_t) r * HEAD_DIM;
    for (int c = 0; c < HEAD_DIM; c += 4) {
        vstore4(convert_char4(rint(vload4(0, x + c) * inverse)), 0, out + c);
    }
    scales[r] = scale;
}
