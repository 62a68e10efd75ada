package io.twilight4j.bench;

/**
 * One row of the attention benchmark: a policy's median step latency, its speedup over dense
 * measured in the same run, the budget it kept per (sequence, query head), its output error, and the true
 * softmax mass of what it attended (mean and min over the first sequence's query heads, {@link TrueWeights}), and
 * whether the cache smoothed its 4-bit keys ({@code KeySmoothing}).
 */
public record BenchRow(String policy, String backend, int batch, int ctx, int hq, int hkv, int dim,
                       double medianMs, double speedupVsDense, double budgetMean, int budgetMin, int budgetMax,
                       double relError, double keptMassMean, double keptMassMin, double selectMs, double estimateMs,
                       double topPMs, double attentionMs, double stepMs, double kvReadGBs, int layers,
                       boolean keySmoothing) {

    /** The row as one JSON object (field names as the issue and README list them). */
    public String toJson() {
        return String.format(java.util.Locale.ROOT,
                "{\"policy\":\"%s\",\"backend\":\"%s\",\"batch\":%d,\"ctx\":%d,\"hq\":%d,\"hkv\":%d,\"dim\":%d,"
                        + "\"median_ms\":%.4f,\"speedup_vs_dense\":%.3f,\"budget_mean\":%.1f,\"budget_min\":%d,\"budget_max\":%d,"
                        + "\"rel_error\":%.3e,\"kept_mass_mean\":%.5f,\"kept_mass_min\":%.5f,"
                        + "\"select_ms\":%.4f,\"estimate_ms\":%.4f,\"top_p_ms\":%.4f,\"attention_ms\":%.4f,"
                        + "\"step_ms\":%.4f,\"kv_read_gbs\":%.2f,\"layers\":%d,\"key_smoothing\":%b}",
                policy, backend, batch, ctx, hq, hkv, dim, medianMs, speedupVsDense, budgetMean, budgetMin, budgetMax,
                relError, keptMassMean, keptMassMin, selectMs, estimateMs, topPMs, attentionMs, stepMs, kvReadGBs, layers,
                keySmoothing);
    }
}
