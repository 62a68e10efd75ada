package io.twilight4j.opencl;

/**
 * How many token slots the NVIDIA estimate (candidates) and sparse attention (set rows) resolve into
 * local memory at a time before their main loops (stage_token_slots in common.cl). The workbench
 * property {@code twilight4j.stageTokens} sets both, so that {@link FastPathCheck}'s small shapes walk
 * several stages (bench/gpu/ab-h100.sh runs it a second time with 64); plans use the defaults.
 */
final class StageSizes {

    private static final String PROPERTY = "twilight4j.stageTokens";

    private StageSizes() {
    }

    /** Candidates per stage of the estimate: a work-group's whole block at batch 16 (1024), 4 KiB of local memory. */
    static int estimate() {
        return fromProperty(1024);
    }

    /** Rows per stage of the sparse attention: two chunks of 256 tokens, 2 KiB of local memory. */
    static int attention() {
        return fromProperty(512);
    }

    private static int fromProperty(int otherwise) {
        Integer value = Integer.getInteger(PROPERTY);
        if (value == null) {
            return otherwise;
        }
        if (value < 1) {
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + value + ": a stage holds at least 1 token slot");
        }
        return value;
    }
}
