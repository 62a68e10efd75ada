/** The CPU backend: off-heap KV storage and the select-prune-attend pipeline on a worker pool. */
package io.twilight4j.backend.cpu;
