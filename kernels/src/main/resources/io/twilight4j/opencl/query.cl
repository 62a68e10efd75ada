// The 8-bit query rows the metadata scorers read (io.twilight4j.kv.Int8Query, same arithmetic bit for
// bit): per row of HEAD_DIM floats, times 2^e per channel as the cache smooths its 4-bit keys (`smoothing`
// from `smoothingBase`: io.twilight4j.kv.KeySmoothing, zeros for none), codes c = rint(q / s) in [-127, 127]
// and the scale s of query_scale (common.cl). Quest plans do not launch this kernel: quest_page_scores quantizes its rows itself.
// quantize_queries: one work-group of HEAD_DIM / 4 work-items per row (b * QUERY_HEADS + query head),
//   four channels each. Local memory: HEAD_DIM / 4 floats (each work-item's largest magnitude).

kernel void quantize_queries(global const float* q, global char* codes, global float* scales, local float* part,
                             global const int* smoothing, int smoothingBase) {
    const int r = GROUP_ID, lid = get_local_id(0);
    const int kvHead = r % QUERY_HEADS / GQA_GROUP;
    const float4 x = ldexp(vload4(lid, q + (size_t) r * HEAD_DIM), vload4(lid, smoothing + smoothingBase + kvHead * HEAD_DIM));
    const float4 a = fabs(x);
    part[lid] = fmax(fmax(a.x, a.y), fmax(a.z, a.w));
    barrier(CLK_LOCAL_MEM_FENCE);
    float amax = 0.0f;
    for (int i = 0; i < HEAD_DIM / 4; i++) {
        amax = fmax(amax, part[i]);
    }
    const float2 si = query_scale(amax);
    vstore4(convert_char4(rint(x * si.y)), lid, codes + (size_t) r * HEAD_DIM);
    if (lid == 0) {
        scales[r] = si.x;
    }
}
