/**
 * Decode attention on the CPU: the FlashDecoding state and its merge, dense and sparse (varlen) kernels
 * over the paged cache, and the head-balanced schedule of chunks.
 */
package io.twilight4j.attention;
