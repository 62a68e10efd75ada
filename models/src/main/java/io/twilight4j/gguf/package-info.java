/**
 * GGUF files: a bounds-checked, memory-mapped reader (metadata, tensor table, tensor data slices) and
 * a writer that produces v3 files atomically. Tensor types and block sizes as in ggml.
 */
package io.twilight4j.gguf;
