/**
 * The OpenCL backend: device discovery, one context and queue, the program cache, the device-resident
 * KV cache and the decode-attention pipeline (8-bit query, select, 4-bit estimate, top-p, sparse or dense
 * attention), and its workbench aids (per-kernel profile, {@code PhaseTimes}).
 */
package io.twilight4j.opencl;
