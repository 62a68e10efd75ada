/**
 * What an attention policy costs a model's predictions: the model reads a text teacher-forced with dense
 * attention and with each policy in lockstep, and every step's next-token distribution is compared with
 * dense's (perplexity, KL divergence, top-1 agreement), next to the attention budget the policy kept.
 */
package io.twilight4j.eval;
