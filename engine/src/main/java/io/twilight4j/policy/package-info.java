/** Attention policies: which selector, which budget, whether Twilight prunes; parsed from strings. */
package io.twilight4j.policy;
