package io.twilight4j.policy;

/** How the pruned sets of the query heads that share one KV head are combined. */
public enum GqaMode {
    /** Union over the group's query heads; every head of the group attends over the union (default). */
    GROUP,
    /** Each query head attends over its own set. */
    HEAD
}
