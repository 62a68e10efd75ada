// The 8-bit query rows the metadata scorers read (io.twilight4j.kv.Int8Query, same arithmetic bit for
// bit): per row of HEAD_DIM floats, codes c = rint(q / s) in [-127, 127] and the scale s, the smallest
// power of two with 127 s >= max|q| (0 when max|q| < 2^-100). Built from exponent bits, so the result
// does not depend on how the device rounds a division.
// quantize_queries: one work-group of HEAD_DIM / 4 work-items per row (b * QUERY_HEADS + query head),
//   four channels each. Local memory: HEAD_DIM / 4 floats (each work-item's largest magnitude).

kernel void quantize_queries(global const float* q, global char* codes, global float* scales, local float* part) {
    const int r = get_group_id(0), lid = get_local_id(0);
    const float4 x = vload4(lid, q + (size_t) r * HEAD_DIM);
    const float4 a = fabs(x);
    part[lid] = fmax(fmax(a.x, a.y), fmax(a.z, a.w));
    barrier(CLK_LOCAL_MEM_FENCE);
    float amax = 0.0f;
    for (int i = 0; i < HEAD_DIM / 4; i++) {
        amax = fmax(amax, part[i]);
    }
    float scale = 0.0f, inverse = 0.0f;
    if (amax >= as_float(27 << 23)) { // 2^-100: amax is a normal float
        // amax lies in [2^x, 2^(x+1)); 127 * 2^(x-6) may hold it, 127 * 2^(x-5) always does.
        const int x = ((as_int(amax) >> 23) & 0xff) - 127;
        const int e = amax <= 127.0f * as_float((x - 6 + 127) << 23) ? x - 6 : x - 5;
        scale = as_float((e + 127) << 23);
        inverse = as_float((127 - e) << 23);
    }
    vstore4(convert_char4(rint(x * inverse)), lid, codes + (size_t) r * HEAD_DIM);
    if (lid == 0) {
        scales[r] = scale;
    }
}
