// TensorMmaProbe's kernel: one warp multiplies A (16 x 32 unsigned bytes) by B (32 x 8 signed bytes) with
// common.cl's mma_u8s8, lane l passing the fragment words a[4 l .. 4 l + 4) and b[2 l .. 2 l + 2) the host
// packed for it, and stores its four results in d[4 l .. 4 l + 4). The host checks them against the product
// at the positions the fragment layout says, before a plan uses the tensor-core kernels.
kernel void mma_probe(global const uint* a, global const int* b, global int* d) {
    const int lane = get_local_id(0);
    int acc[4] = {0, 0, 0, 0};
    mma_u8s8(acc, a[4 * lane], a[4 * lane + 1], a[4 * lane + 2], a[4 * lane + 3], b[2 * lane], b[2 * lane + 1]);
    for (int i = 0; i < 4; i++) {
        d[4 * lane + i] = acc[i];
    }
}
