// Twilight's pruner (TWILIGHT.md section 4) over the selector's candidates.
// estimate_scores: blocksPerEntry work-groups per (sequence b, KV head h): e = b * KV_HEADS + h, each
//   a contiguous block of the candidates; work-item per candidate, scoring it for every query head of the
//   group (codes read once). The queries are the 8-bit rows of quantize_queries (q = c * qs), so a score
//   is (scale * sum c_i code_i + min * sum c_i) * qs / sqrt(d) with exact integer dot products, the same
//   sums as the CPU's Int4Estimator.
//   Local memory: GQA_GROUP * (HEAD_DIM + 1) floats (the group's codes as floats, even channels then odd,
//   and their sums). (NVIDIA variant: its own header below.)
// top_p: one work-group (power of two) per (b, qh); softmax, then the threshold search (the bracket cut
//   in four per pass). With TOP_P_HISTOGRAM the search starts from the histogram bucket where the mass
//   crosses p, over the weights inside it only when the row is in local memory (ROW_LOCAL, cap floats),
//   else over the row (read from global each pass without ROW_LOCAL). Writes the threshold lo to thr[eq]
//   and the kept candidates (w > lo) as bits, keep[eq * capWords + i / 32] bit i % 32 for the words
//   holding the row's n candidates; the softmax weights over the scores with TOP_P_WRITEBACK (for tests;
//   a row in global memory always holds them).
//   Local: max(5 * WG, 384) floats scratch (NVIDIA variant: max(WG, 384)), TOP_P_BUCKETS uints of histogram.
// compact: one work-group per set entry (b, KV head in GROUP mode / query head in HEAD mode); keeps a
//   candidate when any of the entry's heads kept it (the OR of their bits: the GQA union), writes
//   ascending positions. Local memory: 3 * WG ints (scan scratch, each word's bits and rank).
// estimate_top_p: the three above in one launch, top-p rows waiting for their entry's estimate blocks and
//   token sets for its rows (its own header below).
// exact_scores: estimate_scores' output from the fp16 keys and float queries (+topp:P, for evaluation).

// The score of a candidate with scale and minimum sm from its head's integer dot product, as every variant
// computes it (the same float operations in the same order).
#define est_score(sm, dotq, qsum, qscale) (((sm).x * (float) (dotq) + (sm).y * (qsum)) * (qscale) * SCORE_SCALE)

#if EST_SHUFFLE
// NVIDIA variant (EST_SHUFFLE set by the host where inline PTX builds): EST_LANES = CODE_BYTES /
// EST_LANE_BYTES work-items read one candidate's codes together (EST_LANE_BYTES = 8 bytes each, one
// coalesced 64-byte read for d = 128; 16-byte lanes measured slower on the H100 and are not built) and dot them with their 2 * EST_LANE_BYTES channels of each head's
// query codes by 4-way byte dot products (dp4a on the nibbles masked into bytes: no conversion to float);
// the per-head partial dots are reduce-scattered over the lanes, so lane l ends with the score of head
// l / (EST_LANES / GQA_GROUP).
// The group's candidates go EST_STAGE at a time: their token slots are resolved into local memory first
// (stage_token_slots: the chain candidate -> page table held every step of the loop up by two memory
// round trips), then each slot issues the code loads of EST_UNROLL candidates before using any.
// Local memory: EST_STAGE uints.
#define EST_LPH (EST_LANES / GQA_GROUP)
#define EST_WORDS (EST_LANE_BYTES / 4)
#if EST_LANE_BYTES != 8
#error "estimate_scores (NVIDIA variant): EST_LANE_BYTES must be 8"
#endif
// Lane ln's EST_WORDS code words of the candidate at token slot tok, into dst[0..EST_WORDS).
#define load_code_words(dst, tok, ln) do { const uint2 r_ = load_once2((global const uint2*) (codes + (tok) * CODE_BYTES) + (ln)); \
        (dst)[0] = r_.x; (dst)[1] = r_.y; } while (0)
inline void estimate_block(const int gid, global const char* qcodes, global const float* qscales, global const uchar* codes,
                           global const half* params, global const int* pageTables, int maxPages,
                           global const int* cand, global const int* candCount, int cap, global float* scores,
                           int blocksPerEntry, local float* stagedSlots PHASE_PARAM) {
    PHASE_MARK(0);
    const int e = gid / blocksPerEntry, block = gid % blocksPerEntry;
    const int b = e / KV_HEADS, h = e % KV_HEADS, lid = get_local_id(0);
    const int lane = lid % EST_LANES, slot = lid / EST_LANES, slots = get_local_size(0) / EST_LANES;
    const int n = candCount[e];
    const int2 share = block_range(n, block, blocksPerEntry);
    const int first = share.x, end = share.y;
    const int myHead = lane / EST_LPH;
    // This lane's code bytes [EST_LANE_BYTES lane, +EST_LANE_BYTES) hold channels [2 EST_LANE_BYTES lane,
    // +2 EST_LANE_BYTES), even ones in the low nibbles: code word k holds four even channels in its low
    // nibbles and the four odd ones after them in its high nibbles. Each head's query codes split the same
    // way stay in registers, four per int: qe[g][k] and qo[g][k] pair with word k.
    int qe[GQA_GROUP][EST_WORDS], qo[GQA_GROUP][EST_WORDS];
    float qsum[GQA_GROUP];
    for (int g = 0; g < GQA_GROUP; g++) {
        int s = 0;
        #pragma unroll
        for (int k = 0; k < EST_WORDS / 2; k++) {
            const char16 c = as_char16(((global const int4*) (qcodes + query_index(b, h, g) * HEAD_DIM))[lane * (EST_WORDS / 2) + k]);
            const int2 ev = as_int2(c.even), od = as_int2(c.odd);
            qe[g][2 * k] = ev.x;
            qe[g][2 * k + 1] = ev.y;
            qo[g][2 * k] = od.x;
            qo[g][2 * k + 1] = od.y;
            s = dot4_ss(ev.x, 0x01010101, dot4_ss(ev.y, 0x01010101, s));
            s = dot4_ss(od.x, 0x01010101, dot4_ss(od.y, 0x01010101, s));
        }
        qsum[g] = (float) s;
    }
    const float mySum = reduce_scatter(qsum, GQA_GROUP, EST_LANES, lane);
    const float myScale = qscales[query_index(b, h, myHead)];
    global const int* table = pageTables + (size_t) b * maxPages;
    global const int* rowCand = cand + (size_t) e * cap;
    global float* rowScores = scores + query_index(b, h, myHead) * cap;
    local uint* staged = (local uint*) stagedSlots;
    PHASE_MARK(1);
    for (int t0 = first; t0 < end; t0 += EST_STAGE) {
        const int tn = min(end - t0, EST_STAGE);
        barrier(CLK_LOCAL_MEM_FENCE); // the previous stage's slots are read
        stage_token_slots(staged, rowCand + t0, tn, table, h);
        barrier(CLK_LOCAL_MEM_FENCE);
        // Every slot runs the same number of iterations (shuffles need the whole warp); candidates past
        // the stage's end read its first one's codes and store nothing.
        for (int base = 0; base < tn; base += slots * EST_UNROLL) {
            uint v[EST_UNROLL][EST_WORDS];
            float2 sm[EST_UNROLL];
            #pragma unroll
            for (int u = 0; u < EST_UNROLL; u++) {
                const int i = base + u * slots + slot;
                const size_t tok = staged[i < tn ? i : 0];
                // Loads through a typed pointer (vload8 promises only byte alignment).
                load_code_words(v[u], tok, lane);
                sm[u] = half2_bits_to_float2(((global const uint*) params)[tok]);
            }
            #pragma unroll
            for (int u = 0; u < EST_UNROLL; u++) {
                int x[GQA_GROUP];
                #pragma unroll
                for (int g = 0; g < GQA_GROUP; g++) {
                    int d = 0;
                    #pragma unroll
                    for (int k = 0; k < EST_WORDS; k++) {
                        d = dot4_us(v[u][k] & LOW_NIBBLES, qe[g][k], d);
                        d = dot4_us((v[u][k] >> 4) & LOW_NIBBLES, qo[g][k], d);
                    }
                    x[g] = d;
                }
                const float dotq = (float) reduce_scatter_int(x, GQA_GROUP, EST_LANES, lane);
                const int i = base + u * slots + slot;
                if (i < tn && lane % EST_LPH == 0) {
                    rowScores[t0 + i] = est_score(sm[u], dotq, mySum, myScale);
                }
            }
        }
    }
    PHASE_MARK(2);
}
#else
inline void estimate_block(const int gid, global const char* qcodes, global const float* qscales, global const uchar* codes,
                           global const half* params, global const int* pageTables, int maxPages,
                           global const int* cand, global const int* candCount, int cap, global float* scores,
                           int blocksPerEntry, local float* qs PHASE_PARAM) {
    const int e = gid / blocksPerEntry, block = gid % blocksPerEntry;
    const int b = e / KV_HEADS, h = e % KV_HEADS, lid = get_local_id(0);
    // The group's query codes as floats, even channels then odd (matching low and high nibbles):
    // qs[g * HEAD_DIM + k] = c_g[2k], qs[g * HEAD_DIM + CODE_BYTES + k] = c_g[2k + 1]. Every product and
    // partial sum below is an integer below 2^24, so exact.
    global const char* qg = qcodes + query_index(b, h, 0) * HEAD_DIM;
    for (int i = lid; i < GQA_GROUP * HEAD_DIM; i += get_local_size(0)) {
        const int g = i / HEAD_DIM, c = i % HEAD_DIM;
        qs[g * HEAD_DIM + (c % 2) * CODE_BYTES + c / 2] = (float) qg[i];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    // qs[GQA_GROUP * HEAD_DIM + g] = sum_c q_g[c], for the min term of every score.
    if (lid < GQA_GROUP) {
        float sum = 0.0f;
        for (int c = 0; c < HEAD_DIM; c++) {
            sum += qs[lid * HEAD_DIM + c];
        }
        qs[GQA_GROUP * HEAD_DIM + lid] = sum;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const int n = candCount[e];
    const int2 share = block_range(n, block, blocksPerEntry);
    const int end = share.y;
    for (int i = share.x + lid; i < end; i += get_local_size(0)) {
        const size_t tok = token_slot(pageTables + (size_t) b * maxPages, cand[(size_t) e * cap + i], h);
        global const uchar* code = codes + tok * CODE_BYTES;
        float acc[GQA_GROUP];
        for (int g = 0; g < GQA_GROUP; g++) {
            acc[g] = 0.0f;
        }
        // The codes are read once for every query head of the group.
#if CODE_BYTES % 16 == 0
        for (int c = 0; c < CODE_BYTES; c += 16) {
            const uchar16 v = vload16(0, code + c);
            const float16 lo = convert_float16(v & (uchar16) (15)), hi = convert_float16(v >> (uchar16) (4));
            for (int g = 0; g < GQA_GROUP; g++) {
                const float16 qe = vload16(0, qs + g * HEAD_DIM + c);
                const float16 qo = vload16(0, qs + g * HEAD_DIM + CODE_BYTES + c);
                const float16 t = qe * lo + qo * hi;
                acc[g] += dot(t.lo.lo, (float4) (1.0f)) + dot(t.lo.hi, (float4) (1.0f))
                        + dot(t.hi.lo, (float4) (1.0f)) + dot(t.hi.hi, (float4) (1.0f));
            }
        }
#else
        for (int c = 0; c < CODE_BYTES; c++) {
            const int byte = code[c];
            for (int g = 0; g < GQA_GROUP; g++) {
                acc[g] += qs[g * HEAD_DIM + c] * (byte & 15) + qs[g * HEAD_DIM + CODE_BYTES + c] * (byte >> 4);
            }
        }
#endif
        const float scale = vload_half(tok * 2, params), mn = vload_half(tok * 2 + 1, params);
        for (int g = 0; g < GQA_GROUP; g++) {
            scores[query_index(b, h, g) * cap + i]
                    = est_score((float2) (scale, mn), acc[g], qs[GQA_GROUP * HEAD_DIM + g], qscales[query_index(b, h, g)]);
        }
    }
}

#endif

kernel void estimate_scores(global const char* qcodes, global const float* qscales, global const uchar* codes,
                            global const half* params, global const int* pageTables, int maxPages,
                            global const int* cand, global const int* candCount, int cap, global float* scores,
                            int blocksPerEntry, local float* scratch PHASE_PARAM) {
    estimate_block(GROUP_ID, qcodes, qscales, codes, params, pageTables, maxPages, cand, candCount, cap, scores,
                   blocksPerEntry, scratch PHASE_ARG);
}

// exact_scores: the scores of +topp:P (the oracle counterpart of estimate_scores, for evaluation): q . k / sqrt(d)
// from the float queries and the cache's fp16 keys, in estimate_scores' layout and work split (blocksPerEntry
// work-groups per entry, work-item per candidate, every query head of the group per key row read).
kernel void exact_scores(global const float* q, global const half* K, global const int* pageTables, int maxPages,
                         global const int* cand, global const int* candCount, int cap, global float* scores,
                         int blocksPerEntry) {
    const int e = GROUP_ID / blocksPerEntry, block = GROUP_ID % blocksPerEntry;
    const int b = e / KV_HEADS, h = e % KV_HEADS;
    const int2 share = block_range(candCount[e], block, blocksPerEntry);
    for (int i = share.x + get_local_id(0); i < share.y; i += get_local_size(0)) {
        global const half* row = K + token_slot(pageTables + (size_t) b * maxPages, cand[(size_t) e * cap + i], h) * HEAD_DIM;
        float acc[GQA_GROUP];
        for (int g = 0; g < GQA_GROUP; g++) {
            acc[g] = 0.0f;
        }
        for (int c = 0; c < HEAD_DIM; c++) {
            const float k = vload_half(c, row);
            for (int g = 0; g < GQA_GROUP; g++) {
                acc[g] += q[query_index(b, h, g) * HEAD_DIM + c] * k;
            }
        }
        for (int g = 0; g < GQA_GROUP; g++) {
            scores[query_index(b, h, g) * cap + i] = acc[g] * SCORE_SCALE;
        }
    }
}

// Sums of s[0..3), min of a and max of b over the work-group in one tree (a fifth of the barriers of
// five separate reductions). scratch holds 5 * WG floats; parity is for the NVIDIA variant's buffers.
inline void group_reduce5(local float* scratch, int parity, float* s, float* a, float* b) {
    const int lid = get_local_id(0), n = get_local_size(0);
    for (int k = 0; k < 3; k++) {
        scratch[k * n + lid] = s[k];
    }
    scratch[3 * n + lid] = *a;
    scratch[4 * n + lid] = *b;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int half_n = n / 2; half_n > 0; half_n >>= 1) {
        if (lid < half_n) {
            for (int k = 0; k < 3; k++) {
                scratch[k * n + lid] += scratch[k * n + lid + half_n];
            }
            scratch[3 * n + lid] = fmin(scratch[3 * n + lid], scratch[3 * n + lid + half_n]);
            scratch[4 * n + lid] = fmax(scratch[4 * n + lid], scratch[4 * n + lid + half_n]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int k = 0; k < 3; k++) {
        s[k] = scratch[k * n];
    }
    *a = scratch[3 * n];
    *b = scratch[4 * n];
    barrier(CLK_LOCAL_MEM_FENCE);
}

#if INLINE_PTX
// NVIDIA variant of the top-p reductions: a warp reduces with shuffles, then warp 0 reduces the warps'
// results (two barriers instead of log2(WG)). Needs a work-group of whole warps (the host's 256).
inline float warp_op(float x, int op) {
    for (int o = 16; o > 0; o >>= 1) {
        const float y = shfl_xor(x, o);
        x = op == 0 ? x + y : (op == 1 ? fmax(x, y) : fmin(x, y));
    }
    return x;
}

inline float top_reduce(local float* scratch, float x, int op) {
    const int lid = get_local_id(0), warps = get_local_size(0) / 32;
    x = warp_op(x, op);
    if (lid % 32 == 0) scratch[lid / 32] = x;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < 32) {
        const float identity = op == 0 ? 0.0f : (op == 1 ? -INFINITY : INFINITY);
        const float y = warp_op(lid < warps ? scratch[lid] : identity, op);
        if (lid == 0) scratch[32] = y;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    return scratch[32];
}

// The bisection's reduction with one barrier: lane 0 of each warp posts its warp's five results to
// buffer `parity` of scratch, and after the barrier every work-item combines the posts itself (in the
// same order, so all get the same bits). Consecutive calls alternate the parity: a warp posting for
// the next call has passed this call's barrier, so nobody still reads the buffer it writes. The
// buffers start past top_reduce's 33 floats: its result may still be unread by a slow warp when a fast
// one posts here. scratch holds 64 + 2 * 5 * 32 floats.
inline void top_reduce5(local float* scratch, int parity, float* s, float* a, float* b) {
    const int lid = get_local_id(0), warps = get_local_size(0) / 32;
    float x[5] = {warp_op(s[0], 0), warp_op(s[1], 0), warp_op(s[2], 0), warp_op(*a, 2), warp_op(*b, 1)};
    local float* post = scratch + 64 + parity * 160;
    if (lid % 32 == 0) {
        for (int k = 0; k < 5; k++) {
            post[k * 32 + lid / 32] = x[k];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float y[5] = {0.0f, 0.0f, 0.0f, INFINITY, -INFINITY};
    for (int w = 0; w < warps; w++) {
        for (int k = 0; k < 3; k++) {
            y[k] += post[k * 32 + w];
        }
        y[3] = fmin(y[3], post[96 + w]);
        y[4] = fmax(y[4], post[128 + w]);
    }
    for (int k = 0; k < 3; k++) {
        s[k] = y[k];
    }
    *a = y[3];
    *b = y[4];
}
#else
#define top_reduce group_reduce
#define top_reduce5 group_reduce5
#endif

// The bracket shrinks to a quarter per pass: three thresholds at once, whose sums come from one
// reduction (on the H100 the passes were bound by their reductions, not by reading the row).
#define TOP_P_PASSES 16
// Histogram buckets (TopPThreshold.BUCKET_SHIFT): float bits >> TOP_P_BUCKET_SHIFT, 1/8 of an octave for
// shift 20; softmax weights are below 2, so the buckets stop there. Masses are summed in fixed point
// (2^30 per unit of mass: local integer atomics are OpenCL 1.2, float atomics are not).
#define TOP_P_BUCKETS (0x40000000 >> TOP_P_BUCKET_SHIFT)
#define TOP_P_FIXED 0x1p30f

// The bisection over v[0..n) from the bracket (lo, hi], f(lo) >= p > f(hi), where `base` is the mass
// above every v (the weights above hi that v leaves out). Each pass: the masses above the bracket's
// quartiles m[0..3), a = min{w > lo}, bb = max{w <= hi}; stop when the weights left in the bracket differ
// by at most 1e-6 wmax (TopPThreshold's tolerance). v holds every weight in (lo, hi] (the invariant keeps
// one there), so a and bb are those of the whole row. Returns lo. One body for local and global rows.
#define DEFINE_TOP_P_SEARCH(NAME, SPACE)                                                                   \
inline float NAME(SPACE const float* v, int n, float base, float lo, float hi, float wmax, float p,        \
                  local float* scratch, int* calls) {                                                      \
    const int lid = get_local_id(0), wg = get_local_size(0);                                               \
    for (int pass = 0; pass < TOP_P_PASSES; pass++) {                                                      \
        const float mid = (lo + hi) * 0.5f;                                                                \
        const float m[3] = {(lo + mid) * 0.5f, mid, (mid + hi) * 0.5f};                                    \
        float s[3] = {0.0f, 0.0f, 0.0f}, a = INFINITY, bb = -INFINITY;                                     \
        for (int i = lid; i < n; i += wg) {                                                                \
            const float w = v[i];                                                                          \
            s[0] += w > m[0] ? w : 0.0f;                                                                   \
            s[1] += w > m[1] ? w : 0.0f;                                                                   \
            s[2] += w > m[2] ? w : 0.0f;                                                                   \
            if (w > lo) a = fmin(a, w);                                                                    \
            if (w <= hi) bb = fmax(bb, w);                                                                 \
        }                                                                                                  \
        top_reduce5(scratch, (*calls)++ & 1, s, &a, &bb);                                                  \
        if (bb - a <= 1e-6f * wmax) break;                                                                 \
        /* bb is the largest weight up to hi, so nothing lies in (bb, hi]: f(bb) = f(hi) < p. */           \
        if (s[2] + base >= p) {                                                                            \
            lo = m[2];                                                                                     \
        } else if (s[1] + base >= p) {                                                                     \
            lo = m[1];                                                                                     \
            hi = fmin(m[2], bb);                                                                           \
        } else if (s[0] + base >= p) {                                                                     \
            lo = m[0];                                                                                     \
            hi = fmin(m[1], bb);                                                                           \
        } else {                                                                                           \
            hi = fmin(m[0], bb);                                                                           \
        }                                                                                                  \
    }                                                                                                      \
    return lo;                                                                                             \
}
DEFINE_TOP_P_SEARCH(top_p_search_local, local)
#if !ROW_LOCAL
DEFINE_TOP_P_SEARCH(top_p_search_global, global)
#endif

// The bucket where the histogram's mass, summed from the top, reaches p: the buckets above it hold less
// than p, it and those above at least p. -1 when no bucket does (p near 1 and fixed-point truncation).
// Two levels of 32: runs of 32 buckets summed in parallel, then one work-item walks the runs and the
// crossing run's buckets (no scan: a loop of barriers here multiplied PoCL's compile time).
#define TOP_P_RUN 32
#if TOP_P_BUCKETS % TOP_P_RUN != 0 || TOP_P_BUCKETS / TOP_P_RUN > 32
#error "top_p: TOP_P_BUCKET_SHIFT must give 32 to 1024 buckets (the run sums stay below top_reduce's result)"
#endif
#if INLINE_PTX
inline int warp_min_int(int x) {
    for (int o = 16; o > 0; o >>= 1) x = min(x, shfl_xor_int(x, o));
    return x;
}

// NVIDIA variant of the walk below: warp 0 takes the runs' and then the crossing run's buckets 32 at a
// time, from the top, by prefix sums over its lanes (the same integer sums, so the same bucket), where one
// work-item's serial walk took ~8k cycles of top_p on the H100.
inline int top_p_bucket(local const uint* hist, float p, local float* scratch, local int* found) {
    const int lid = get_local_id(0), wg = get_local_size(0);
    local uint* runs = (local uint*) scratch;
    // Work-item t sums buckets [4t, 4t + 4) and the 8 work-items of a run combine by shuffles: a work-item
    // summing its run's 32 words alone read them 32 ways bank-conflicted.
    for (int base = 0; base < TOP_P_BUCKETS; base += 4 * wg) {
        const int t = base / 4 + lid;
        const uint4 h = 4 * t < TOP_P_BUCKETS ? vload4(t, hist) : (uint4) (0);
        int sum = (int) (h.x + h.y + h.z + h.w);
        sum += shfl_xor_int(sum, 1);
        sum += shfl_xor_int(sum, 2);
        sum += shfl_xor_int(sum, 4);
        if (t % 8 == 0 && 4 * t < TOP_P_BUCKETS) runs[4 * t / TOP_P_RUN] = (uint) sum;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < 32) {
        const uint need = (uint) (p * TOP_P_FIXED);
        const int nRuns = TOP_P_BUCKETS / TOP_P_RUN;
        // Lane l: run nRuns - 1 - l (from the top), the mass of it and the runs above.
        const uint v = lid < nRuns ? runs[nRuns - 1 - lid] : 0;
        // The fixed-point masses sum to about 2^30 (a mass of ~1): as ints they stay below 2^31.
        const uint cum = (uint) warp_inclusive_sum((int) v, lid);
        const int l = warp_min_int(cum >= need && lid < nRuns ? lid : 32);
        int bucket = -1;
        if (l < 32) {
            const uint before = (uint) shfl_idx_int((int) (cum - v), l);
            const int top = (nRuns - l) * TOP_P_RUN - 1; // the crossing run's highest bucket
            const uint c = before + (uint) warp_inclusive_sum((int) hist[top - lid], lid);
            const int m = warp_min_int(c >= need ? lid : 32);
            bucket = m < 32 ? top - m : -1;
        }
        if (lid == 0) *found = bucket;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    return *found;
}
#else
inline int top_p_bucket(local const uint* hist, float p, local float* scratch, local int* found) {
    const int lid = get_local_id(0), wg = get_local_size(0);
    local uint* runs = (local uint*) scratch;
    for (int r = lid; r < TOP_P_BUCKETS / TOP_P_RUN; r += wg) {
        uint sum = 0;
        for (int b = r * TOP_P_RUN; b < (r + 1) * TOP_P_RUN; b++) sum += hist[b];
        runs[r] = sum;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        const uint need = (uint) (p * TOP_P_FIXED);
        uint cum = 0;
        int bucket = -1;
        for (int r = TOP_P_BUCKETS / TOP_P_RUN - 1; r >= 0 && bucket < 0; r--) {
            if (cum + runs[r] < need) {
                cum += runs[r];
                continue;
            }
            for (int b = (r + 1) * TOP_P_RUN - 1; b >= r * TOP_P_RUN; b--) {
                cum += hist[b];
                if (cum >= need) {
                    bucket = b;
                    break;
                }
            }
        }
        *found = bucket;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    return *found;
}
#endif

// Exclusive prefix sum of `count` over the work-group, and its total, without a loop of barriers (a scan's
// loop in top_p multiplied PoCL's compile time): every work-item sums the counts before its own, all
// reading the same word at once.
#if INLINE_PTX
// The NVIDIA group_scan has no loop of barriers (its loops are shuffles); flat_prefix's 256 reads per
// work-item took ~5k cycles of top_p on the H100 (batch 16, 32k).
#define flat_prefix group_scan
#else
inline int flat_prefix(local int* scratch, int count, int* total) {
    const int lid = get_local_id(0), wg = get_local_size(0);
    barrier(CLK_LOCAL_MEM_FENCE); // the NVIDIA top_reduce5 posts may still be read
    scratch[lid] = count;
    barrier(CLK_LOCAL_MEM_FENCE);
    int before = 0, all = 0;
    for (int i = 0; i < wg; i++) {
        const int c = scratch[i];
        before += i < lid ? c : 0;
        all += c;
    }
    *total = all;
    barrier(CLK_LOCAL_MEM_FENCE);
    return before;
}
#endif

// The entry (b, KV head) whose candidates row eq = (b, query head) weighs.
inline int top_p_entry(int eq) {
    return (eq / QUERY_HEADS) * KV_HEADS + (eq % QUERY_HEADS) / GQA_GROUP;
}

// top_p's body for row eq; `coherent`: the row was stored by other work-groups of this launch (the fused
// estimate_top_p), read past this compute unit's L1. `found`: a local int of the kernel (OpenCL C 1.2
// declares local variables in kernels only).
inline void top_p_row(const int eq, const bool coherent, global float* scores, global const int* candCount, int cap,
                      float p, global float* thr, global uint* keep, int capWords, local float* rowLocal,
                      local float* scratch, local uint* hist, local int* found PHASE_PARAM) {
    const int lid = get_local_id(0), wg = get_local_size(0);
    PHASE_MARK(0);
    const int e = top_p_entry(eq);
    const int n = candCount[e];
    global float* src = scores + (size_t) eq * cap;
#if TOP_P_HISTOGRAM
    for (int i = lid; i < TOP_P_BUCKETS; i += wg) hist[i] = 0;
#endif
#if ROW_LOCAL
    local float* row = rowLocal;
    // The copy's loads give this work-item's maximum too.
    float x = row_copy(row, src, n, coherent);
    barrier(CLK_LOCAL_MEM_FENCE);
    PHASE_MARK(1);
#else
    global float* row = src;
    float x = -INFINITY;
    for (int i = lid; i < n; i += wg) x = fmax(x, coherent ? load_coherent(row + i) : row[i]);
#endif
    const float smax = top_reduce(scratch, x, 1);
    PHASE_MARK(2);
    x = 0.0f;
    for (int i = lid; i < n; i += wg) {
        const float w = exp(row[i] - smax);
        row[i] = w;
        x += w;
    }
    // One division, then products (as the CPU's Softmax).
    const float inv = 1.0f / top_reduce(scratch, x, 0);
    PHASE_MARK(3);
    const bool search = p < 1.0f; // p = 1 keeps every candidate with w > 0
    for (int i = lid; i < n; i += wg) {
        const float w = row[i] * inv;
        row[i] = w;
#if TOP_P_HISTOGRAM
        if (search) atomic_add(&hist[min(as_uint(w) >> TOP_P_BUCKET_SHIFT, (uint) TOP_P_BUCKETS - 1)], (uint) (w * TOP_P_FIXED));
#endif
    }
    // The largest weight is the largest score's exp(0) = 1 times inv: no reduction needed (one that
    // returned a hair less would only tighten the search's tolerance, and hi = inv still bounds the row).
    const float wmax = n > 0 ? inv : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE); // the histogram is complete before its walk reads it
    PHASE_MARK(4);
    // The search's bracket (lo, hi], and whether it runs over the weights inside it (moved to the
    // histogram's memory, `base` the mass above them) or over the whole row. Every barrier below is
    // reached by the whole group unconditionally, and each search has one call site: PoCL replicates
    // the code after a branch holding barriers, which took its compile time from seconds to minutes.
    float lo = 0.0f, hi = wmax, base = 0.0f;
    int count = search ? n : 0, calls = 0;
    bool inBracket = false;
#if TOP_P_HISTOGRAM
    // The crossing bucket is a first bracket, as in the CPU's TopPThreshold (which finds the same bucket
    // by a search over bucket edges), checked with exact float sums (the fixed-point ones are truncated).
    // A bracket that fails the check leaves the search to the whole row from (0, wmax]; one with more
    // weights inside than the histogram's memory holds, to the whole row from the bracket.
    const int j = top_p_bucket(hist, p, scratch, found);
    PHASE_MARK(5);
    const float blo = as_float(((uint) max(j, 1) << TOP_P_BUCKET_SHIFT) - 1);
    const float bhi = as_float(((uint) (max(j, 1) + 1) << TOP_P_BUCKET_SHIFT) - 1);
    float s[3] = {0.0f, 0.0f, 0.0f}, a = INFINITY, bb = -INFINITY;
    int mine = 0;
    // No crossing bucket (p = 1 leaves the histogram empty): nothing to sum, the reduction still runs.
    for (int i = lid; i < (j > 0 ? n : 0); i += wg) {
        const float w = row[i];
        const bool inside = w > blo && w <= bhi;
        s[0] += w > bhi ? w : 0.0f;
        s[1] += inside ? w : 0.0f;
        mine += inside;
    }
    top_reduce5(scratch, calls++ & 1, s, &a, &bb);
    PHASE_MARK(6);
    const bool bracketed = search && j > 0 && s[0] < p && s[0] + s[1] >= p;
    if (bracketed) {
        lo = blo;
        hi = bhi;
    }
#if ROW_LOCAL
    int inside;
    int at = flat_prefix((local int*) scratch, bracketed ? mine : 0, &inside);
    inBracket = bracketed && inside <= TOP_P_BUCKETS;
    if (inBracket) {
        for (int i = lid; i < n; i += wg) {
            const float w = row[i];
            if (w > blo && w <= bhi) ((local float*) hist)[at++] = w;
        }
        count = inside;
        base = s[0];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    PHASE_MARK(7);
#endif
#endif
#if ROW_LOCAL
    lo = top_p_search_local(inBracket ? (local float*) hist : row, count, base, lo, hi, wmax, p, scratch, &calls);
#else
    // A row in global memory is searched whole (from the histogram's bracket): the weights inside the
    // bracket would need a second search in local memory, and a second call site (see above).
    lo = top_p_search_global(row, count, base, lo, hi, wmax, p, scratch, &calls);
#endif
    PHASE_MARK(8);
#if ROW_LOCAL && TOP_P_WRITEBACK
    // Tests read the weights; plans (TOP_P_WRITEBACK 0) only the kept bits.
    for (int i = lid; i < n; i += wg) src[i] = row[i];
#endif
    // The kept bits: compact then reads a bit per candidate and head instead of a float, and scans words.
#if INLINE_PTX
#define KEEP_BATCH 8
    // NVIDIA: a warp's 32 consecutive weights are one word of bits (a ballot). A loop that built each
    // word in one work-item (below) held 32 reads in registers, and top_p's groups then no longer all
    // fit the H100 at once (28 -> 41 us at batch 16, 32k). A batch of KEEP_BATCH weights is read before
    // its ballots, and lane j stores the batch's word j (a read and a store after each ballot: 6.4k
    // cycles for this loop, now 1.8k).
    for (int base = 0; base < n; base += KEEP_BATCH * wg) {
        bool kept[KEEP_BATCH];
        #pragma unroll
        for (int j = 0; j < KEEP_BATCH; j++) {
            const int i = base + j * wg + lid;
            kept[j] = i < n && row[i] > lo;
        }
        uint word = 0;
        #pragma unroll
        for (int j = 0; j < KEEP_BATCH; j++) {
            const uint bits = ballot(kept[j]);
            word = lid % 32 == j ? bits : word;
        }
        // Word j of this warp starts at candidate i: words past the row's are not written (they may lie
        // past the row's capWords).
        const int i = base + (lid % 32) * wg + (lid - lid % 32);
        if (lid % 32 < KEEP_BATCH && i < n) keep[(size_t) eq * capWords + i / 32] = word;
    }
#else
    // A word per work-item; its 32 weights are read from a lane-rotated start, so neighbouring
    // work-items read a local row from different banks.
    for (int w = lid; w < (n + 31) / 32; w += wg) {
        uint bits = 0;
        for (int j = 0; j < 32; j++) {
            const int jj = (j + lid) & 31, i = 32 * w + jj;
            if (i < n && row[i] > lo) bits |= 1u << jj;
        }
        keep[(size_t) eq * capWords + w] = bits;
    }
#endif
    PHASE_MARK(9);
    if (lid == 0) thr[eq] = lo;
}

kernel void top_p(global float* scores, global const int* candCount, int cap, float p, global float* thr,
                  global uint* keep, int capWords, local float* rowLocal, local float* scratch, local uint* hist PHASE_PARAM) {
    local int found;
    top_p_row(GROUP_ID, false, scores, candCount, cap, p, thr, keep, capWords, rowLocal, scratch, hist, &found PHASE_ARG);
}

// Candidates go a tile of WG words (32 WG candidates) at a time: each work-item ORs its word's bits over
// the entry's heads, one scan ranks the words, and the work-items store the tile's kept candidates
// (read in order, coalesced) at their word's rank plus the kept bits below them. The tile's bit and count
// loads are issued together (the count bounds only what is stored: reads past it stay inside the entry's
// capacity), the candidates' positions after the scan, COMPACT_RUN per work-item at a time (all 32 at once
// held 32 registers, which the fused estimate_top_p would give every one of its groups: 65 -> 142 us on
// the H100 at batch 16, 32k; with 8, 70.6 us and no compact launch).
#define COMPACT_RUN 8
inline void compact_set(const int es, const bool coherent, global const uint* keep, int capWords, global const int* cand,
                        global const int* candCount, int cap, int entriesPerSeq, global int* sets, global int* setCount,
                        local int* scratch PHASE_PARAM) {
    const int lid = get_local_id(0), wg = get_local_size(0);
    PHASE_MARK(0);
    const int b = es / entriesPerSeq;
    const int firstQ = (es % entriesPerSeq) * HEADS_PER_ENTRY;
    const int firstEq = b * QUERY_HEADS + firstQ;
    const int e = b * KV_HEADS + firstQ / GQA_GROUP;
    local uint* wordBits = (local uint*) (scratch + wg);
    local int* wordRank = scratch + 2 * wg;
    global const int* c = cand + (size_t) e * cap;
    global int* out = sets + (size_t) es * cap;
    int emitted = 0;
    for (int w0 = 0; w0 < capWords; w0 += wg) {
        uint bits = 0;
        if (w0 + lid < capWords) {
            for (int g = 0; g < HEADS_PER_ENTRY; g++) {
                global const uint* word = keep + (size_t) (firstEq + g) * capWords + w0 + lid;
                bits |= coherent ? as_uint(load_coherent((global const float*) word)) : *word;
            }
        }
        const int n = candCount[e], words = (n + 31) / 32;
        if (w0 >= words) break; // n is the group's: every work-item leaves together
        bits = w0 + lid < words ? bits : 0;
        int total;
        const int rank = group_scan(scratch, popcount(bits), &total);
        wordBits[lid] = bits;
        wordRank[lid] = emitted + rank;
        barrier(CLK_LOCAL_MEM_FENCE);
        // COMPACT_RUN positions in flight per work-item: few registers, as a part of the fused
        // estimate_top_p (whose every group gets the registers of its largest part).
        for (int r = 0; r < 32; r += COMPACT_RUN) {
            int pos[COMPACT_RUN];
            #pragma unroll
            for (int j = 0; j < COMPACT_RUN; j++) {
                const int i = 32 * w0 + (r + j) * wg + lid;
                pos[j] = i < cap ? c[i] : 0;
            }
            #pragma unroll
            for (int j = 0; j < COMPACT_RUN; j++) {
                const int t = (r + j) * wg + lid, k = t / 32, bit = t % 32;
                if (32 * w0 + t < n) {
                    const uint wb = wordBits[k];
                    if ((wb >> bit) & 1u) out[wordRank[k] + popcount(wb & ((1u << bit) - 1u))] = pos[j];
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE); // the next tile rewrites wordBits and wordRank
        emitted += total;
    }
    PHASE_MARK(1);
    if (lid == 0) setCount[es] = emitted;
}

kernel void compact(global const uint* restrict keep, int capWords, global const int* restrict cand,
                    global const int* restrict candCount, int cap, int entriesPerSeq, global int* restrict sets,
                    global int* restrict setCount, local int* scratch PHASE_PARAM) {
    compact_set(GROUP_ID, false, keep, capWords, cand, candCount, cap, entriesPerSeq, sets, setCount, scratch PHASE_ARG);
}

// Token sets per entry: one per KV head (the GQA union), or one per query head.
#define SETS_PER_ENTRY (GQA_GROUP / HEADS_PER_ENTRY)

// The group counts itself in *done once its global stores are visible to every group (a device fence
// by each work-item, then the barrier).
inline void count_done(global int* done) {
    device_fence();
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (get_local_id(0) == 0) atomic_inc(done);
}

// The group waits until *done reaches target: work-item 0 spins on it, the others at the barrier.
inline void wait_for_count(global int* done, int target) {
    if (get_local_id(0) == 0) {
        while (atomic_add(done, 0) < target) {
        }
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
}

// estimate_top_p: estimate_scores, top_p and compact in one launch, so an entry's top-p rows start as soon
// as its estimate blocks are done while later entries are still being estimated, the rows left at the end
// run on an otherwise idle device (four rows to a compute unit, top_p's passes looked bound by instruction
// issue), and an entry's token sets are compacted as soon as its rows are done (no compact launch, nor its
// gap). Work-groups draw tickets in launch order: the first estGroups tickets are estimate blocks of this
// launch's entries (firstEntry on), then top-p rows, then token sets; a row waits until its entry's blocks,
// a set until its entry's blocks and rows have counted themselves in entryDone (after a device fence on
// their stores). A waiting group only waits for lower tickets, drawn by groups already running, so it
// cannot wait forever, however many groups the device holds at once. The group drawing the last ticket
// resets the counter for the next launch, and an entry's last set its count.
// Local memory: one area for any part (top_p's row, scratch and histogram at the given float offsets;
// compact's 3 * WG ints at its start).
kernel void estimate_top_p(global const char* qcodes, global const float* qscales, global const uchar* codes,
                           global const half* params, global const int* pageTables, int maxPages,
                           global const int* cand, global const int* candCount, int cap, global float* scores,
                           int blocksPerEntry, float p, global float* thr, global uint* keep, int capWords,
                           global int* tickets, int ticketSlot, global int* entryDone, int firstEntry, int entries,
                           int scratchOffset, int histOffset, global int* sets, global int* setCount,
                           local float* mem PHASE_PARAM) {
    local int ticket, found;
    const int lid = get_local_id(0);
    const int estGroups = entries * blocksPerEntry, rows = entries * GQA_GROUP;
    const int total = estGroups + rows + entries * SETS_PER_ENTRY;
    global int* counter = tickets + ticketSlot; // one per slice: slices run at the same time
    if (lid == 0) {
        ticket = atomic_inc(counter);
        if (ticket == total - 1) *counter = 0; // every ticket is drawn
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const int t = ticket;
    if (t < estGroups) {
        const int gid = firstEntry * blocksPerEntry + t;
        estimate_block(gid, qcodes, qscales, codes, params, pageTables, maxPages, cand, candCount, cap, scores,
                       blocksPerEntry, mem PHASE_ARG);
        count_done(&entryDone[gid / blocksPerEntry]); // after its scores
    } else if (t < estGroups + rows) {
        const int eq = firstEntry * GQA_GROUP + (t - estGroups);
        const int e = top_p_entry(eq);
        wait_for_count(&entryDone[e], blocksPerEntry);
        top_p_row(eq, true, scores, candCount, cap, p, thr, keep, capWords, mem, mem + scratchOffset,
                  (local uint*) (mem + histOffset), &found PHASE_ARG);
        count_done(&entryDone[e]); // after its kept bits
    } else {
        // A token set of the entry, once all its rows are done; the entry's last set resets its count.
        const int es = firstEntry * SETS_PER_ENTRY + (t - estGroups - rows);
        const int e = es / SETS_PER_ENTRY;
        wait_for_count(&entryDone[e], blocksPerEntry + GQA_GROUP);
        compact_set(es, true, keep, capWords, cand, candCount, cap, KV_HEADS * SETS_PER_ENTRY, sets, setCount,
                    (local int*) mem PHASE_ARG);
        if (lid == 0 && atomic_inc(&entryDone[e]) == blocksPerEntry + GQA_GROUP + SETS_PER_ENTRY - 1) entryDone[e] = 0;
    }
}
