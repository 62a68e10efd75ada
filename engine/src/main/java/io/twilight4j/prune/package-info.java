/**
 * Twilight's pruner: 4-bit key quantization, score estimation on the candidates, and the
 * sorting-free top-p threshold by bisection.
 */
package io.twilight4j.prune;
