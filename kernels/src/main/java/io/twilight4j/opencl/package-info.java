/**
 * The OpenCL backend: device discovery, one context and its queues (without profiling unless a plan records
 * stage or step times), the program cache, the device-resident
 * KV cache and the decode-attention pipeline (8-bit query, select, 4-bit estimate, top-p, sparse or dense
 * attention; a step's transfers in one upload and one download, {@code StepTransfers}; large steps cut into
 * slices on separate queues, {@code StepSlice}), the JVM's signal handlers kept from the drivers' ({@code JvmSignals}),
 * and its workbench aids (per-kernel profile, {@code PhaseTimes}, {@code QueueOverlapCheck},
 * {@code DispatchCost}).
 */
package io.twilight4j.opencl;
