import jdk.incubator.vector.*;
public class FmaPeak {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static float run(long iters, float seed) {
        FloatVector a0 = FloatVector.broadcast(F, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3), a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7), a8 = a0.add(8), a9 = a0.add(9);
        FloatVector m = FloatVector.broadcast(F, 0.999999f), c = FloatVector.broadcast(F, 1e-7f);
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c); a4 = a4.fma(m, c);
            a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c); a8 = a8.fma(m, c); a9 = a9.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).reduceLanes(VectorOperators.ADD);
    }
    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[0]);
        long iters = 200_000_000L;
        for (int rep = 0; rep < 4; rep++) {
            Thread[] ts = new Thread[threads];
            long t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) { final int id = t; ts[t] = new Thread(() -> run(iters, id)); ts[t].start(); }
            for (Thread t : ts) t.join();
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("%d threads: %.2f G FMA-instr/s per thread (%.2f per ns)%n", threads, iters * 10 / s / 1e9, iters * 10 / s / 1e9);
        }
    }
}
