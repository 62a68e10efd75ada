package io.twilight4j.opencl;

/**
 * Launch shape of the attention kernels: chosen by {@link AttentionSweep} on the H100 and kept as
 * {@link #DEFAULT}; every value is scaled by the device's own limits at plan time.
 *
 * @param rowsInFlight  K/V rows each work-item loads before computing (NVIDIA variant)
 * @param groupThreads  work-items per group (rounded to whole rows of lanes)
 * @param groupsPerUnit work-groups per compute unit the chunking aims for
 * @param shuffleVec    channels per work-item in the NVIDIA variant (8 or 16; the portable kernel takes 8 or 4)
 * @param mergeChunksPerPart attend_merge adds a work-item per channel for each this many chunks of a head (up to 4)
 */
record AttentionTuning(int rowsInFlight, int groupThreads, int groupsPerUnit, int shuffleVec, int mergeChunksPerPart) {

    static final AttentionTuning DEFAULT = new AttentionTuning(2, 256, 8, 8, 32);

    /** {@link #DEFAULT}, its rows in flight replaced by the workbench property {@code twilight4j.attRows} where set. */
    static AttentionTuning fromProperties() {
        Integer rows = Integer.getInteger("twilight4j.attRows");
        if (rows == null) {
            return DEFAULT;
        }
        try {
            return new AttentionTuning(rows, DEFAULT.groupThreads(), DEFAULT.groupsPerUnit(), DEFAULT.shuffleVec(),
                    DEFAULT.mergeChunksPerPart());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("twilight4j.attRows=" + rows + ": rows in flight must be 1 to 16", e);
        }
    }

    AttentionTuning {
        if (rowsInFlight < 1 || rowsInFlight > 16 || groupThreads < 32 || groupThreads > 1024 || groupsPerUnit < 1
                || (shuffleVec != 8 && shuffleVec != 16) || mergeChunksPerPart < 1) {
            throw new IllegalArgumentException("attention tuning out of range: " + rowsInFlight + ", " + groupThreads
                    + ", " + groupsPerUnit + ", " + shuffleVec + ", " + mergeChunksPerPart);
        }
    }
}
