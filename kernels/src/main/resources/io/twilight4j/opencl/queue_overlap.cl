// QueueOverlapCheck's workload: each work-item spins on a dependent multiply-add chain (no memory
// traffic), so a launch's time is its length and its few groups leave most compute units free.
kernel void spin(global float* out, int iters) {
    float x = (float) get_global_id(0);
    for (int i = 0; i < iters; i++) x = x * 0.999999f + 0.5f;
    out[get_global_id(0)] = x;
}
