// Twilight's pruner (TWILIGHT.md section 4) over the selector's candidates.
// estimate_scores: one work-group per (sequence b, query head): eq = b * QUERY_HEADS + qh; work-item
//   per candidate; scores from the 4-bit keys, (scale * sum q_c code_c + min * sum q_c) / sqrt(d).
//   Local memory: HEAD_DIM floats (q).
// top_p: one work-group (power of two) per (b, qh); softmax and the threshold bisection over the row,
//   kept in local memory when ROW_LOCAL (cap floats), else read from global each pass. Writes the
//   softmax weights back over the scores and the threshold lo to thr[eq]. Local: WG floats scratch.
// compact: one work-group per set entry (b, KV head in GROUP mode / query head in HEAD mode); keeps a
//   candidate when any of the entry's heads has w > thr (the GQA union), writes ascending positions.
//   Local memory: WG ints of scan scratch.

kernel void estimate_scores(global const float* q, global const uchar* codes, global const half* params,
                            global const int* pageTables, int maxPages, global const int* cand,
                            global const int* candCount, int cap, global float* scores, local float* qs) {
    const int eq = get_group_id(0), b = eq / QUERY_HEADS, qh = eq % QUERY_HEADS, h = qh / GQA_GROUP;
    const int e = b * KV_HEADS + h;
    for (int c = get_local_id(0); c < HEAD_DIM; c += get_local_size(0)) {
        qs[c] = q[(size_t) eq * HEAD_DIM + c];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float qsum = 0.0f;
    for (int c = 0; c < HEAD_DIM; c++) {
        qsum += qs[c];
    }
    const int n = candCount[e];
    for (int i = get_local_id(0); i < n; i += get_local_size(0)) {
        const size_t tok = token_slot(pageTables + (size_t) b * maxPages, cand[(size_t) e * cap + i], h);
        global const uchar* code = codes + tok * CODE_BYTES;
        float acc = 0.0f;
        for (int c = 0; c < CODE_BYTES; c++) {
            const int byte = code[c];
            acc += qs[2 * c] * (byte & 15) + qs[2 * c + 1] * (byte >> 4);
        }
        const float scale = vload_half(tok * 2, params), mn = vload_half(tok * 2 + 1, params);
        scores[(size_t) eq * cap + i] = (scale * acc + mn * qsum) / sqrt((float) HEAD_DIM);
    }
}

kernel void top_p(global float* scores, global const int* candCount, int cap, float p, global float* thr,
                  local float* rowLocal, local float* scratch) {
    const int eq = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    const int e = (eq / QUERY_HEADS) * KV_HEADS + (eq % QUERY_HEADS) / GQA_GROUP;
    const int n = candCount[e];
    global float* src = scores + (size_t) eq * cap;
#if ROW_LOCAL
    local float* row = rowLocal;
    for (int i = lid; i < n; i += wg) row[i] = src[i];
    barrier(CLK_LOCAL_MEM_FENCE);
#else
    global float* row = src;
#endif
    float x = -INFINITY;
    for (int i = lid; i < n; i += wg) x = fmax(x, row[i]);
    const float smax = group_reduce(scratch, x, 1);
    x = 0.0f;
    for (int i = lid; i < n; i += wg) {
        const float w = exp(row[i] - smax);
        row[i] = w;
        x += w;
    }
    const float sum = group_reduce(scratch, x, 0);
    x = 0.0f;
    for (int i = lid; i < n; i += wg) {
        row[i] = row[i] / sum;
        x = fmax(x, row[i]);
    }
    const float wmax = group_reduce(scratch, x, 1);
    float lo = 0.0f, hi = wmax;
    if (p < 1.0f) { // p = 1 keeps every candidate with w > 0
        for (int pass = 0; pass < 32; pass++) {
            const float mid = (lo + hi) * 0.5f;
            float s = 0.0f, a = INFINITY, bb = -INFINITY;
            for (int i = lid; i < n; i += wg) {
                const float w = row[i];
                if (w > mid) s += w;
                if (w > lo) a = fmin(a, w);
                if (w <= hi) bb = fmax(bb, w);
            }
            s = group_reduce(scratch, s, 0);
            a = group_reduce(scratch, a, 2);
            bb = group_reduce(scratch, bb, 1);
            if (bb - a <= 1e-6f * wmax) break;
            if (s >= p) lo = mid; else hi = fmin(mid, bb);
        }
    }
#if ROW_LOCAL
    for (int i = lid; i < n; i += wg) src[i] = row[i];
#endif
    if (lid == 0) thr[eq] = lo;
}

kernel void compact(global const float* weights, global const float* thr, global const int* cand,
                    global const int* candCount, int cap, int entriesPerSeq, global int* sets, global int* setCount,
                    local int* scratch) {
    const int es = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    const int b = es / entriesPerSeq;
    const int firstQ = (es % entriesPerSeq) * HEADS_PER_ENTRY;
    const int e = b * KV_HEADS + firstQ / GQA_GROUP;
    const int n = candCount[e];
    int emitted = 0;
    for (int base = 0; base < n; base += wg) {
        const int i = base + lid;
        int keep = 0;
        if (i < n) {
            for (int g = 0; g < HEADS_PER_ENTRY; g++) {
                const int eq = b * QUERY_HEADS + firstQ + g;
                keep |= weights[(size_t) eq * cap + i] > thr[eq];
            }
        }
        int total;
        const int rank = group_scan(scratch, keep, &total);
        if (keep) sets[(size_t) es * cap + emitted + rank] = cand[(size_t) e * cap + i];
        emitted += total;
    }
    if (lid == 0) setCount[es] = emitted;
}
