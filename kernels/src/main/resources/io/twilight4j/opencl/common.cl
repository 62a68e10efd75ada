// Helpers shared by the decode kernels (compiled in front of them). Work-groups that call these use a
// power-of-two size; scratch is WG ints/floats of local memory.
#pragma OPENCL FP_CONTRACT OFF

// The work-group's index in the whole step: a step may run as slices of its entries on several queues
// (OpenClDecodeAttention), each launch covering a slice's groups from a global work offset of whole
// groups, and every kernel indexes its buffers by the whole step's entries.
#define GROUP_ID ((int) (get_group_id(0) + get_global_offset(0) / get_local_size(0)))

#if PHASE_TIMES && INLINE_PTX
// Workbench (system property twilight4j.phaseTimes, NVIDIA only): work-item 0 of each work-group stores
// its SM's cycle counter at mark k in phaseTimes[group * PHASE_SLOTS + k]; the host prints the mean
// cycles between consecutive marks. Marks sit after barriers, where the whole group has arrived.
#define PHASE_SLOTS 16
#define PHASE_PARAM , global ulong* phaseTimes
#define PHASE_ARG , phaseTimes
#define PHASE_MARK(k) do { if (get_local_id(0) == 0) { ulong t_; asm volatile("mov.u64 %0, %%clock64;" : "=l"(t_)); \
        phaseTimes[GROUP_ID * PHASE_SLOTS + (k)] = t_; } } while (0)
#else
#define PHASE_PARAM
#define PHASE_ARG
#define PHASE_MARK(k)
#endif

#if INLINE_PTX
// Value of x held by the lane `delta` below this one (own value in the lowest lanes); NVIDIA inline PTX,
// every lane of the warp calls it together.
inline int shfl_up_int(int x, int delta) {
    int r;
    asm volatile("shfl.sync.up.b32 %0, %1, %2, 0x0, 0xffffffff;" : "=r"(r) : "r"(x), "r"(delta));
    return r;
}

// Inclusive prefix sum of x over the lanes of a warp (lane = this work-item's lane); every lane calls it.
inline int warp_inclusive_sum(int x, int lane) {
    for (int o = 1; o < 32; o <<= 1) {
        const int y = shfl_up_int(x, o);
        if (lane >= o) x += y;
    }
    return x;
}

// Exclusive prefix sum of flag over the work-group; *total gets the group's sum. NVIDIA variant: warps
// scan with shuffles and one warp scans the warps' totals (three barriers instead of 2 log2(WG) + 1).
// Needs a work-group of whole warps, at most 32 of them.
inline int group_scan(local int* scratch, int flag, int* total) {
    const int lid = get_local_id(0), lane = lid % 32, warp = lid / 32, warps = get_local_size(0) / 32;
    const int x = warp_inclusive_sum(flag, lane);
    if (lane == 31) scratch[warp] = x;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (warp == 0) {
        const int w = warp_inclusive_sum(lane < warps ? scratch[lane] : 0, lane);
        if (lane < warps) scratch[lane] = w;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const int before = warp > 0 ? scratch[warp - 1] : 0;
    *total = scratch[warps - 1];
    barrier(CLK_LOCAL_MEM_FENCE);
    return before + x - flag;
}
#else
// Exclusive prefix sum of flag over the work-group (Hillis-Steele); *total gets the group's sum.
inline int group_scan(local int* scratch, int flag, int* total) {
    const int lid = get_local_id(0), n = get_local_size(0);
    scratch[lid] = flag;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = 1; step < n; step <<= 1) {
        const int add = lid >= step ? scratch[lid - step] : 0;
        barrier(CLK_LOCAL_MEM_FENCE);
        scratch[lid] += add;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const int inclusive = scratch[lid];
    *total = scratch[n - 1];
    barrier(CLK_LOCAL_MEM_FENCE);
    return inclusive - flag;
}
#endif

// Tree reduction of one float per work-item; op 0 = sum, 1 = max, 2 = min.
inline float group_reduce(local float* scratch, float x, int op) {
    const int lid = get_local_id(0);
    scratch[lid] = x;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int half_n = get_local_size(0) / 2; half_n > 0; half_n >>= 1) {
        if (lid < half_n) {
            const float a = scratch[lid], b = scratch[lid + half_n];
            scratch[lid] = op == 0 ? a + b : (op == 1 ? fmax(a, b) : fmin(a, b));
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

// The items [x, y) of block `block` when n items are cut into `blocks` blocks of equal span (the last
// shorter, trailing ones empty): how several work-groups share one entry's pages or candidates.
inline int2 block_range(int n, int block, int blocks) {
    const int span = (n + blocks - 1) / blocks;
    const int first = block * span;
    return (int2) (first, min(n, first + span));
}

// Loads of floats that other work-groups of the running launch stored (the fused estimate_top_p): NVIDIA
// reads them through ld.global.cg, from L2, past this compute unit's L1, which does not see other units'
// stores; elsewhere plain loads (PoCL's CPU caches are coherent). device_fence orders this work-item's
// global stores before its later global accesses for every work-group (NVIDIA: membar.gl).
#if INLINE_PTX
inline float load_coherent(global const float* p) {
    float v;
    asm volatile("ld.global.cg.f32 %0, [%1];" : "=f"(v) : "l"(p));
    return v;
}
inline float4 load_coherent4(global const float4* p) {
    float4 v;
    asm volatile("ld.global.cg.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
    return v;
}
inline void device_fence(void) {
    mem_fence(CLK_GLOBAL_MEM_FENCE); // keeps the compiler's order; the PTX fence orders the hardware's
    asm volatile("membar.gl;");
}
#else
#define load_coherent(p) (*(p))
#define load_coherent4(p) (*(p))
inline void device_fence(void) {
    mem_fence(CLK_GLOBAL_MEM_FENCE);
}
#endif

// Copies the n floats of a global row to local memory, COPY_BATCH loads in flight per work-item (a loop
// of one load per iteration waits out the memory latency for every element it copies), 16-byte loads
// and stores where both rows start on 16-byte boundaries (typed: vload4 promises only 4-byte alignment).
// Returns the largest value this work-item copied (-INFINITY for none). `coherent`: read with the
// loads above (a constant at every call site, so the choice folds away).
#define COPY_BATCH 8
inline float row_copy(local float* dst, global const float* src, int n, const bool coherent) {
    const int lid = get_local_id(0), wg = get_local_size(0);
    float m = -INFINITY;
    int from = 0;
    if ((((size_t) src) & 15) == 0 && (((size_t) dst) & 15) == 0) {
        const int n4 = n / 4;
        for (int base = 0; base < n4; base += COPY_BATCH * wg) {
            float4 x[COPY_BATCH];
            #pragma unroll
            for (int j = 0; j < COPY_BATCH; j++) {
                const int i = base + j * wg + lid;
                global const float4* at = (global const float4*) src + i;
                x[j] = i < n4 ? (coherent ? load_coherent4(at) : *at) : (float4) (-INFINITY);
            }
            #pragma unroll
            for (int j = 0; j < COPY_BATCH; j++) {
                const int i = base + j * wg + lid;
                if (i < n4) ((local float4*) dst)[i] = x[j];
                m = fmax(m, fmax(fmax(x[j].x, x[j].y), fmax(x[j].z, x[j].w)));
            }
        }
        from = 4 * n4;
    }
    for (int base = from; base < n; base += COPY_BATCH * wg) {
        float x[COPY_BATCH];
        #pragma unroll
        for (int j = 0; j < COPY_BATCH; j++) {
            const int i = base + j * wg + lid;
            x[j] = i < n ? (coherent ? load_coherent(src + i) : src[i]) : -INFINITY;
        }
        #pragma unroll
        for (int j = 0; j < COPY_BATCH; j++) {
            const int i = base + j * wg + lid;
            if (i < n) dst[i] = x[j];
            m = fmax(m, x[j]);
        }
    }
    return m;
}
#define row_to_local(dst, src, n) row_copy(dst, src, n, false)

// The 8-bit scale s of a query row whose largest magnitude is amax, and 1/s (io.twilight4j.kv.Int8Query,
// bit for bit): the smallest power of two with 127 s >= amax, (0, 0) when amax < 2^-100. Built from
// exponent bits, so the result does not depend on how the device rounds a division. Codes: rint(q / s).
inline float2 query_scale(float amax) {
    if (!(amax >= as_float(27 << 23))) { // 2^-100: below it amax may not be a normal float
        return (float2) (0.0f, 0.0f);
    }
    // amax lies in [2^x, 2^(x+1)); 127 * 2^(x-6) may hold it, 127 * 2^(x-5) always does.
    const int x = ((as_int(amax) >> 23) & 0xff) - 127;
    const int e = amax <= 127.0f * as_float((x - 6 + 127) << 23) ? x - 6 : x - 5;
    return (float2) (as_float((e + 127) << 23), as_float((127 - e) << 23));
}

// Row of query head g of KV head kvHead of sequence b among the batch's query rows (q, its 8-bit codes).
inline size_t query_index(int b, int kvHead, int g) {
    return (size_t) b * QUERY_HEADS + kvHead * GQA_GROUP + g;
}

// 1/sqrt(HEAD_DIM) exactly as the host computes it (KvShape.scoreScale), passed as its float bits.
#define SCORE_SCALE as_float(SCORE_SCALE_BITS)

// Physical (page, head, token) index of logical position pos of a sequence.
inline size_t token_slot(global const int* pageTable, int pos, int kvHead) {
    const int page = pageTable[pos / PAGE_TOKENS];
    return ((size_t) page * KV_HEADS + kvHead) * PAGE_TOKENS + pos % PAGE_TOKENS;
}

// Token slots of positions[0..n) of one sequence (its page table) and KV head, into dst[0..n): the
// work-group resolves them STAGE_BATCH per work-item with all loads in flight, so a loop over the slots
// afterwards waits on one memory round trip per step instead of the chain position -> page table -> row.
#define STAGE_BATCH 4
inline void stage_token_slots(local uint* dst, global const int* positions, int n, global const int* pageTable,
                              int kvHead) {
    const int lid = get_local_id(0), wg = get_local_size(0);
    for (int base = 0; base < n; base += STAGE_BATCH * wg) {
        int pos[STAGE_BATCH];
        #pragma unroll
        for (int j = 0; j < STAGE_BATCH; j++) {
            const int i = base + j * wg + lid;
            pos[j] = i < n ? positions[i] : 0;
        }
        #pragma unroll
        for (int j = 0; j < STAGE_BATCH; j++) {
            const int i = base + j * wg + lid;
            if (i < n) dst[i] = (uint) token_slot(pageTable, pos[j], kvHead);
        }
    }
}

#if INLINE_PTX
// Butterfly exchange within a warp (NVIDIA inline PTX; the host defines INLINE_PTX only where it
// builds). Every lane of the warp must call it together.
inline float shfl_xor(float v, int laneMask) {
    uint r;
    asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=r"(r) : "r"(as_uint(v)), "r"(laneMask));
    return as_float(r);
}

// Sums the `width` values x[0..width) over `lanes` consecutive lanes of a warp (lanes and width powers
// of two, width dividing lanes) and returns in lane l the full sum of value l / (lanes / width): log2(width)
// halving exchanges, then a butterfly over the lanes that share a value. x is clobbered. reduce_scatter
// sums floats, reduce_scatter_int ints (integer dot products summed before their one conversion to float:
// a conversion is a quarter-rate instruction on NVIDIA GPUs, and the sums are the same while they stay
// below 2^24). reduce_scatter follows here, reduce_scatter_int after shfl_xor_int. (No unroll pragma: an
// earlier macro holding _Pragma did not build on NVIDIA; the loops run over compile-time constants, and the
// H100 A/B that dropped the pragmas measured attend_partial, the float version's user, unchanged.)
#define DEFINE_REDUCE_SCATTER(NAME, T, SHFL)                                         \
inline T NAME(T* x, const int width, const int lanes, const int lane) {             \
    for (int w = width, o = lanes / 2; w > 1; w >>= 1, o >>= 1) {                   \
        const bool upper = (lane & o) != 0;                                         \
        for (int j = 0; j < w / 2; j++) {                                           \
            const T keep = upper ? x[w / 2 + j] : x[j];                             \
            const T send = upper ? x[j] : x[w / 2 + j];                             \
            x[j] = keep + SHFL(send, o);                                            \
        }                                                                           \
    }                                                                               \
    T r = x[0];                                                                     \
    for (int o = lanes / width / 2; o > 0; o >>= 1) {                               \
        r += SHFL(r, o);                                                            \
    }                                                                               \
    return r;                                                                       \
}
DEFINE_REDUCE_SCATTER(reduce_scatter, float, shfl_xor)

// a . b + c over four byte pairs, a signed (dot4_ss) or unsigned (dot4_us), b signed: one dp4a
// instruction (NVIDIA inline PTX, sm_61 and later) for four multiply-adds on packed bytes.
inline int dot4_ss(int a, int b, int c) {
    int r;
    asm("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

inline int dot4_us(uint a, int b, int c) {
    int r;
    asm("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

// The two fp16 values packed in bits (low half first, as vload_half2 reads them) as floats: one 4-byte
// load by the caller and two conversions (NVIDIA inline PTX; vload_half2 promises only 2-byte alignment).
inline float2 half2_bits_to_float2(uint bits) {
    float lo, hi;
    asm("{ .reg .b16 l, h; mov.b32 {l, h}, %2; cvt.f32.f16 %0, l; cvt.f32.f16 %1, h; }" : "=f"(lo), "=f"(hi) : "r"(bits));
    return (float2) (lo, hi);
}

// Loads of data read once per step (K/V rows, 4-bit codes, page bounds): with STREAM_LOADS through
// ld.global.cs (evict-first in L1 and L2), so the stream does not push the step's small reused buffers
// (scores, candidates, sets, page tables) out of L2. The host sets it with INLINE_PTX.
#if STREAM_LOADS
inline uint2 load_once2(global const uint2* p) {
    uint2 r;
    asm("ld.global.cs.v2.u32 {%0, %1}, [%2];" : "=r"(r.x), "=r"(r.y) : "l"(p));
    return r;
}
inline uint4 load_once4(global const uint4* p) {
    uint4 r;
    asm("ld.global.cs.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    return r;
}
#else
#define load_once2(p) (*(p))
#define load_once4(p) (*(p))
#endif

// Asks the L2 cache for the line holding p (NVIDIA inline PTX): a load issued later finds it there
// instead of waiting out the memory's latency, with no register held while it is in flight.
inline void prefetch_l2(global const void* p) {
    asm volatile("prefetch.global.L2 [%0];" : : "l"(p));
}

// Integer butterfly exchange and read of lane srcLane (NVIDIA inline PTX), for integer sums and indices:
// no trip through a float (a small integer's bits are a denormal).
inline int shfl_xor_int(int v, int laneMask) {
    int r;
    asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=r"(r) : "r"(v), "r"(laneMask));
    return r;
}
DEFINE_REDUCE_SCATTER(reduce_scatter_int, int, shfl_xor_int)

// The low nibble of each byte of a word of 4-bit codes (even channels; the high ones, shifted down, are odd).
#define LOW_NIBBLES 0x0F0F0F0Fu

// Bit l: p of warp lane l (NVIDIA inline PTX); every lane of the warp must call it together.
inline uint ballot(bool p) {
    uint r;
    asm volatile("{ .reg .pred q; setp.ne.u32 q, %1, 0; vote.sync.ballot.b32 %0, q, 0xffffffff; }" : "=r"(r) : "r"((uint) p));
    return r;
}

inline int shfl_idx_int(int v, int srcLane) {
    int r;
    asm volatile("shfl.sync.idx.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=r"(r) : "r"(v), "r"(srcLane));
    return r;
}

// Value of v held by warp lane srcLane (NVIDIA inline PTX); every lane of the warp must call it together.
inline float shfl_idx(float v, int srcLane) {
    uint r;
    asm volatile("shfl.sync.idx.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=r"(r) : "r"(as_uint(v)), "r"(srcLane));
    return as_float(r);
}
#endif
