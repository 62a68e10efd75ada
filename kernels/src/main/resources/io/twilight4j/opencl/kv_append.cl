// KV append: stores fp16 K/V of new tokens and, in the same pass, the metadata the selectors and the
// pruner read (layout: io.twilight4j.kv.KvLayout; defines KV_HEADS, HEAD_DIM, PAGE_TOKENS,
// LABEL_CHANNELS, CODE_BYTES, LABEL_BYTES, BOUND_LEVELS come from KvLayout.kernelDefines()).
// Work-items: one work-group per KV head (group id = head), HEAD_DIM work-items, item c owns channel c.
// Tokens are walked in order inside the group, so a page's bounds are updated without races and a
// page's first token resets them; the page's 4-bit bound copy is re-encoded after each token, with
// the float operations of io.twilight4j.kv.PageBounds.encode (same bytes as the host cache). The 4-bit
// copies (key codes and bound codes) are of k / 2^e, e the channel's exponent in `smoothing` (from
// `smoothingBase`: io.twilight4j.kv.KeySmoothing, zeros for none); ldexp is exact, as the host's scalb.
// Local memory: 4 * HEAD_DIM + 6 floats, 2 * HEAD_DIM bytes (the bound codes before packing).
// fp16 rounding goes through global memory (vstore_half then vload_half by the same work-item): OpenCL
// C 1.2 without cl_khr_fp16 has no half variables.
#pragma OPENCL FP_CONTRACT OFF

kernel void kv_append(global const float* k, global const float* v, global const int* slots, int tokens,
                      global half* K, global half* V, global uchar* codes, global half* params,
                      global half* bounds, global uchar* boundCodes, global half* boundParams,
                      global uchar* labels, global half* labelParams,
                      global const int* labelChannels, int labelBase, global const int* smoothing, int smoothingBase) {
    const int h = get_group_id(0);
    const int c = get_local_id(0);
    const int ex = smoothing[smoothingBase + h * HEAD_DIM + c];
    local float row[HEAD_DIM], srow[HEAD_DIM];
    local float pageMin[HEAD_DIM], pageMax[HEAD_DIM];
    local float stat[6];
    local uchar boundCode[2 * HEAD_DIM];
    for (int t = 0; t < tokens; t++) {
        const int slot = slots[t];
        const int page = slot / PAGE_TOKENS;
        const int off = slot % PAGE_TOKENS;
        const size_t src = ((size_t) t * KV_HEADS + h) * HEAD_DIM + c;
        const size_t tok = ((size_t) page * KV_HEADS + h) * PAGE_TOKENS + off;
        vstore_half(k[src], tok * HEAD_DIM + c, K);
        vstore_half(v[src], tok * HEAD_DIM + c, V);
        const float kh = vload_half(tok * HEAD_DIM + c, K);
        row[c] = kh;
        srow[c] = ldexp(kh, -ex);
        // Quest bounds (min row, then max row) over the fp16 keys: exact in fp16.
        const size_t b = ((size_t) page * KV_HEADS + h) * 2 * HEAD_DIM;
        const float lo = off == 0 ? kh : fmin(vload_half(b + c, bounds), kh);
        const float hi = off == 0 ? kh : fmax(vload_half(b + HEAD_DIM + c, bounds), kh);
        vstore_half(lo, b + c, bounds);
        vstore_half(hi, b + HEAD_DIM + c, bounds);
        const float slo = ldexp(lo, -ex), shi = ldexp(hi, -ex);
        pageMin[c] = slo;
        pageMax[c] = shi;
        barrier(CLK_LOCAL_MEM_FENCE);
        if (c == 0) {
            // The 4-bit bound range: BOUND_LEVELS - 1 steps from the smallest min, the step rounded up to a half.
            float plo = pageMin[0], phi = pageMax[0];
            for (int i = 1; i < HEAD_DIM; i++) {
                plo = fmin(plo, pageMin[i]);
                phi = fmax(phi, pageMax[i]);
            }
            const size_t r = ((size_t) page * KV_HEADS + h) * 2;
            vstore_half_rtp((phi - plo) / (float) (BOUND_LEVELS - 1), r, boundParams);
            vstore_half(plo, r + 1, boundParams);
            stat[4] = plo;
            stat[5] = vload_half(r, boundParams);
            float mn = srow[0], mx = srow[0];
            for (int i = 1; i < HEAD_DIM; i++) {
                mn = fmin(mn, srow[i]);
                mx = fmax(mx, srow[i]);
            }
            vstore_half((mx - mn) / 15.0f, tok * 2, params);
            vstore_half(mn, tok * 2 + 1, params);
            stat[0] = mn;
            stat[1] = vload_half(tok * 2, params);
#if LABEL_CHANNELS > 0
            global const int* ch = labelChannels + labelBase + h * LABEL_CHANNELS;
            float lmn = row[ch[0]], lmx = row[ch[0]];
            for (int j = 1; j < LABEL_CHANNELS; j++) {
                lmn = fmin(lmn, row[ch[j]]);
                lmx = fmax(lmx, row[ch[j]]);
            }
            vstore_half((lmx - lmn) / 3.0f, tok * 2, labelParams);
            vstore_half(lmn, tok * 2 + 1, labelParams);
            stat[2] = lmn;
            stat[3] = vload_half(tok * 2, labelParams);
#endif
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        {
            // Codes round outward, checked as a decoder computes min + code * scale.
            const float plo = stat[4], scale = stat[5];
            int down = 0, up = 0;
            if (scale > 0.0f) {
                down = clamp((int) floor((slo - plo) / scale), 0, BOUND_LEVELS);
                while (down > 0 && plo + (float) down * scale > slo) down--;
                up = clamp((int) ceil((shi - plo) / scale), 0, BOUND_LEVELS);
                while (up < BOUND_LEVELS && plo + (float) up * scale < shi) up++;
            }
            boundCode[c] = (uchar) down;
            boundCode[HEAD_DIM + c] = (uchar) up;
        }
        if (c < HEAD_DIM / 2) {
            const float mn = stat[0];
            const float inv = stat[1] > 0.0f ? 1.0f / stat[1] : 0.0f;
            const int lo4 = clamp((int) floor((srow[2 * c] - mn) * inv + 0.5f), 0, 15);
            const int hi4 = clamp((int) floor((srow[2 * c + 1] - mn) * inv + 0.5f), 0, 15);
            codes[tok * CODE_BYTES + c] = (uchar) (lo4 | (hi4 << 4));
        }
#if LABEL_CHANNELS > 0
        if (c < LABEL_BYTES) {
            global const int* ch = labelChannels + labelBase + h * LABEL_CHANNELS;
            const float mn = stat[2];
            const float inv = stat[3] > 0.0f ? 1.0f / stat[3] : 0.0f;
            int byte = 0;
            for (int i = 0; i < 4; i++) {
                const int q2 = clamp((int) floor((row[ch[4 * c + i]] - mn) * inv + 0.5f), 0, 3);
                byte |= q2 << (2 * i);
            }
            labels[tok * LABEL_BYTES + c] = (uchar) byte;
        }
#endif
        barrier(CLK_LOCAL_MEM_FENCE); // row and stat are rewritten by the next token
        // Two bound codes per byte, code j in the low nibble when even (the next token's codes are
        // written only after its first barrier).
        boundCodes[((size_t) page * KV_HEADS + h) * HEAD_DIM + c] = (uchar) (boundCode[2 * c] | (boundCode[2 * c + 1] << 4));
    }
}
