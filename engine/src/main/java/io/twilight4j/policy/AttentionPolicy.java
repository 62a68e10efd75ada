package io.twilight4j.policy;

import java.util.Locale;

/**
 * One attention pipeline: a base selector with its budget, optionally followed by Twilight's top-p
 * pruner. Parsed from strings such as {@code dense}, {@code quest:8192}, {@code ds:8192:16},
 * {@code oracle:256}, {@code window:4096:4}, {@code quest:8192+twilight:0.95}, {@code full+twilight:0.9:head}.
 * {@code +topp:P} is the same pruner on exact scores (the cache's fp16 keys and the float query) instead of
 * the 4-bit estimate: the oracle counterpart of {@code +twilight:P}, for evaluation (it reads every
 * candidate's whole key), which splits a pipeline's error into the estimate's share and p's.
 *
 * @param selector       the base selector
 * @param budgetTokens   the selector's budget B0 (0 for dense and full; the recent window W for window)
 * @param labelChannels  Double Sparsity label channels r (0: half the head dimension; only for ds)
 * @param sinkTokens     window's attention sinks S, the sequence's first tokens (0 for the other selectors)
 * @param topP           Twilight's p in (0, 1], or 0 when there is no pruner
 * @param gqaMode        how query heads of one KV head combine their pruned sets
 * @param exactScores    whether the pruner scores candidates exactly ({@code +topp:P}) instead of from the
 *                       4-bit keys ({@code +twilight:P}); false when there is no pruner
 */
public record AttentionPolicy(SelectorKind selector, int budgetTokens, int labelChannels, int sinkTokens, double topP,
                              GqaMode gqaMode, boolean exactScores) {

    /** What {@link #parse} accepts, for error messages and help texts. */
    public static final String GRAMMAR = "dense | full | quest:B0 | ds:B0[:r] | oracle:B | window:W[:S], optionally followed by "
            + "+twilight:P[:group|head] or, on exact scores for evaluation, +topp:P[:group|head] (B0, B, r, W positive "
            + "integers; S >= 0, default 4; P in (0, 1])";

    /** Attention sinks of {@code window:W} when S is not given (StreamingLLM's choice). */
    public static final int DEFAULT_SINK_TOKENS = 4;

    public AttentionPolicy {
        if (selector == null || gqaMode == null) {
            throw new IllegalArgumentException("policy: selector and gqaMode are required");
        }
        boolean budgeted = selector == SelectorKind.QUEST || selector == SelectorKind.DS || selector == SelectorKind.ORACLE
                || selector == SelectorKind.WINDOW;
        if (budgeted && budgetTokens <= 0) {
            throw new IllegalArgumentException("policy: budget must be a positive integer, got " + budgetTokens);
        }
        if (!budgeted && budgetTokens != 0) {
            throw new IllegalArgumentException("policy: " + name(selector) + " takes no budget");
        }
        if (labelChannels < 0 || (selector != SelectorKind.DS && labelChannels != 0)) {
            throw new IllegalArgumentException("policy: label channels apply to ds only and must be positive, got " + labelChannels);
        }
        if (sinkTokens < 0 || (selector != SelectorKind.WINDOW && sinkTokens != 0)) {
            throw new IllegalArgumentException("policy: sink tokens apply to window only and must be >= 0, got " + sinkTokens);
        }
        if (!(topP == 0 || (topP > 0 && topP <= 1))) {
            throw new IllegalArgumentException("policy: top-p must be in (0, 1], got " + topP);
        }
        if (selector == SelectorKind.DENSE && topP != 0) {
            throw new IllegalArgumentException("policy: dense attention has no candidates to prune; use full+twilight:P");
        }
        if (exactScores && topP == 0) {
            throw new IllegalArgumentException("policy: exact scores apply to a pruner only");
        }
    }

    /** A policy pruned by Twilight's 4-bit estimate, or not pruned ({@code topP} 0). */
    public AttentionPolicy(SelectorKind selector, int budgetTokens, int labelChannels, int sinkTokens, double topP,
                           GqaMode gqaMode) {
        this(selector, budgetTokens, labelChannels, sinkTokens, topP, gqaMode, false);
    }

    /** Dense attention over every token. */
    public static AttentionPolicy dense() {
        return new AttentionPolicy(SelectorKind.DENSE, 0, 0, 0, 0, GqaMode.GROUP);
    }

    /** Whether Twilight's pruner runs after the selector. */
    public boolean prunes() {
        return topP > 0;
    }

    /**
     * Whether the policy reads the cache's 4-bit copies of the keys (Quest's page bounds, Twilight's estimate):
     * the ones a {@code KeySmoothing} smooths, so a cache for it is worth calibrating one for.
     */
    public boolean readsFourBitKeys() {
        return selector == SelectorKind.QUEST || (prunes() && !exactScores);
    }

    /** Whether this is plain dense attention. */
    public boolean isDense() {
        return selector == SelectorKind.DENSE;
    }

    /** Label channels for a head of {@code headDim} channels (the default is half of them). */
    public int labelChannelsFor(int headDim) {
        return labelChannels > 0 ? labelChannels : headDim / 2;
    }

    /**
     * Parses a policy string; an error names the part that is wrong and lists what is accepted.
     */
    public static AttentionPolicy parse(String text) {
        if (text == null || text.isBlank()) {
            throw bad(text, "empty policy");
        }
        String s = text.trim().toLowerCase(Locale.ROOT);
        String[] stages = s.split("\\+", -1);
        if (stages.length > 2) {
            throw bad(text, "at most one '+twilight:P' or '+topp:P' stage may follow the selector");
        }
        String[] sel = stages[0].split(":", -1);
        SelectorKind kind;
        int budget = 0;
        int r = 0;
        int sinks = 0;
        switch (sel[0]) {
            case "dense" -> { kind = SelectorKind.DENSE; expectParts(text, sel, 1, 1); }
            case "full" -> { kind = SelectorKind.FULL; expectParts(text, sel, 1, 1); }
            case "quest" -> { kind = SelectorKind.QUEST; expectParts(text, sel, 2, 2); budget = positive(text, sel[1], "budget"); }
            case "oracle" -> { kind = SelectorKind.ORACLE; expectParts(text, sel, 2, 2); budget = positive(text, sel[1], "budget"); }
            case "ds" -> {
                kind = SelectorKind.DS;
                expectParts(text, sel, 2, 3);
                budget = positive(text, sel[1], "budget");
                if (sel.length == 3) {
                    r = positive(text, sel[2], "label channels");
                }
            }
            case "window" -> {
                kind = SelectorKind.WINDOW;
                expectParts(text, sel, 2, 3);
                budget = positive(text, sel[1], "window");
                sinks = sel.length == 3 ? nonNegative(text, sel[2], "sink tokens") : DEFAULT_SINK_TOKENS;
            }
            default -> throw bad(text, "unknown selector '" + sel[0] + "'");
        }
        double p = 0;
        GqaMode mode = GqaMode.GROUP;
        boolean exact = false;
        if (stages.length == 2) {
            String[] tw = stages[1].split(":", -1);
            if (!tw[0].equals("twilight") && !tw[0].equals("topp")) {
                throw bad(text, "unknown stage '" + tw[0] + "' after '+'");
            }
            exact = tw[0].equals("topp");
            if (tw.length < 2 || tw.length > 3) {
                throw bad(text, tw[0] + " stage must be '" + tw[0] + ":P' or '" + tw[0] + ":P:group|head'");
            }
            try {
                p = Double.parseDouble(tw[1]);
            } catch (NumberFormatException e) {
                throw bad(text, "top-p '" + tw[1] + "' is not a number");
            }
            if (!(p > 0 && p <= 1)) {
                throw bad(text, "top-p must be in (0, 1], got " + tw[1]);
            }
            if (tw.length == 3) {
                mode = switch (tw[2]) {
                    case "group" -> GqaMode.GROUP;
                    case "head" -> GqaMode.HEAD;
                    default -> throw bad(text, "GQA mode '" + tw[2] + "' is neither 'group' nor 'head'");
                };
            }
            if (kind == SelectorKind.DENSE) {
                throw bad(text, "dense attention has no candidates to prune; use full+twilight:P");
            }
        }
        return new AttentionPolicy(kind, budget, r, sinks, p, mode, exact);
    }

    private static void expectParts(String text, String[] parts, int min, int max) {
        if (parts.length < min || parts.length > max) {
            String usage = switch (parts[0]) {
                case "dense", "full" -> "'" + parts[0] + "' takes no arguments";
                case "ds" -> "expected 'ds:B0' or 'ds:B0:r'";
                case "window" -> "expected 'window:W' or 'window:W:S'";
                default -> "expected '" + parts[0] + ":BUDGET'";
            };
            throw bad(text, usage);
        }
    }

    private static int positive(String text, String value, String what) {
        return atLeast(text, value, what, 1, "a positive integer");
    }

    private static int nonNegative(String text, String value, String what) {
        return atLeast(text, value, what, 0, "a non-negative integer");
    }

    /** {@code value} as an int of at least {@code min}; anything else is an error naming it as {@code kind}. */
    private static int atLeast(String text, String value, String what, int min, String kind) {
        try {
            int v = Integer.parseInt(value);
            if (v >= min) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // reported below with the same message as a number out of range
        }
        throw bad(text, what + " must be " + kind + ", got '" + value + "'");
    }

    private static IllegalArgumentException bad(String text, String why) {
        return new IllegalArgumentException("policy '" + text + "': " + why + ". Accepted: " + GRAMMAR);
    }

    private static String name(SelectorKind k) {
        return k.name().toLowerCase(Locale.ROOT);
    }

    /** The canonical string form, which {@link #parse} reads back to an equal policy. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(name(selector));
        if (budgetTokens > 0) {
            sb.append(':').append(budgetTokens);
        }
        if (labelChannels > 0) {
            sb.append(':').append(labelChannels);
        }
        if (selector == SelectorKind.WINDOW) {
            sb.append(':').append(sinkTokens);
        }
        if (prunes()) {
            sb.append(exactScores ? "+topp:" : "+twilight:").append(formatP(topP));
            if (gqaMode == GqaMode.HEAD) {
                sb.append(":head");
            }
        }
        return sb.toString();
    }

    private static String formatP(double p) {
        String s = Double.toString(p);
        return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
    }
}
