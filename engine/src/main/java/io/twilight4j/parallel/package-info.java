/** The worker pool shared by the CPU attention pipeline and the model's matrix products. */
package io.twilight4j.parallel;
