package io.twilight4j.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AttentionPolicyTest {

    @ParameterizedTest
    @CsvSource({
            "dense, DENSE, 0, 0, 0, 0",
            "full, FULL, 0, 0, 0, 0",
            "quest:8192, QUEST, 8192, 0, 0, 0",
            "ds:8192:16, DS, 8192, 16, 0, 0",
            "oracle:256, ORACLE, 256, 0, 0, 0",
            "quest:8192+twilight:0.95, QUEST, 8192, 0, 0.95, 0",
            "full+twilight:0.9, FULL, 0, 0, 0.9, 0",
            "FULL+Twilight:1, FULL, 0, 0, 1, 0",
            "window:4096, WINDOW, 4096, 0, 0, 4",
            "window:1024:0+twilight:0.9, WINDOW, 1024, 0, 0.9, 0",
            "window:512:16, WINDOW, 512, 0, 0, 16"})
    void parsesTheDocumentedForms(String text, SelectorKind kind, int budget, int r, double p, int sinks) {
        AttentionPolicy policy = AttentionPolicy.parse(text);
        assertEquals(kind, policy.selector());
        assertEquals(budget, policy.budgetTokens());
        assertEquals(r, policy.labelChannels());
        assertEquals(sinks, policy.sinkTokens());
        assertEquals(p, policy.topP(), 0);
        assertEquals(policy, AttentionPolicy.parse(policy.toString()), "toString must parse back");
    }

    @ParameterizedTest
    @ValueSource(strings = {"full+twilight:0.8:head", "ds:64+twilight:0.5:group", "quest:16", "window:64", "window:64:0+twilight:0.9:head",
            "quest:64+topp:0.9", "full+topp:0.95:head"})
    void roundTripsThroughToString(String text) {
        AttentionPolicy p = AttentionPolicy.parse(text);
        assertEquals(p, AttentionPolicy.parse(p.toString()));
    }

    /** {@code +topp:P} is the same pipeline as {@code +twilight:P} but for the scores the pruner reads. */
    @Test
    void exactTopPDiffersFromTwilightOnlyInItsScores() {
        AttentionPolicy exact = AttentionPolicy.parse("quest:64+topp:0.9:head");
        AttentionPolicy twilight = AttentionPolicy.parse("quest:64+twilight:0.9:head");
        assertTrue(exact.exactScores());
        assertTrue(!twilight.exactScores());
        assertEquals(twilight, new AttentionPolicy(exact.selector(), exact.budgetTokens(), exact.labelChannels(),
                exact.sinkTokens(), exact.topP(), exact.gqaMode()));
        assertEquals("quest:64+topp:0.9:head", exact.toString());
        assertThrows(IllegalArgumentException.class,
                () -> new AttentionPolicy(SelectorKind.QUEST, 64, 0, 0, 0, GqaMode.GROUP, true));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "quest:abc | budget must be a positive integer, got 'abc'",
            "quest:0 | budget must be a positive integer, got '0'",
            "quest | expected 'quest:BUDGET'",
            "dense:5 | 'dense' takes no arguments",
            "topk:8 | unknown selector 'topk'",
            "quest:64+twilight:1.5 | top-p must be in (0, 1], got 1.5",
            "quest:64+twilight:0 | top-p must be in (0, 1], got 0",
            "quest:64+twilight:x | top-p 'x' is not a number",
            "quest:64+sink:4 | unknown stage 'sink'",
            "dense+twilight:0.9 | use full+twilight:P",
            "full+twilight:0.9:both | GQA mode 'both'",
            "quest:1+twilight:0.9+twilight:0.5 | at most one",
            "window | expected 'window:W' or 'window:W:S'",
            "window:0 | window must be a positive integer, got '0'",
            "window:64:-1 | sink tokens must be a non-negative integer, got '-1'",
            "window:64:4:2 | expected 'window:W' or 'window:W:S'",
            "full+topp | topp stage must be 'topp:P' or 'topp:P:group|head'",
            "full+topp:2 | top-p must be in (0, 1], got 2",
            "dense+topp:0.9 | dense attention has no candidates to prune",
            "quest:64+topp:0.9+twilight:0.9 | at most one"})
    void badStringsNameTheWrongPartAndListWhatIsAccepted(String text, String expected) {
        String message = assertThrows(IllegalArgumentException.class, () -> AttentionPolicy.parse(text)).getMessage();
        assertTrue(message.contains(expected), message);
        assertTrue(message.startsWith("policy '" + text + "'"), message);
        assertTrue(message.contains(AttentionPolicy.GRAMMAR), message);
    }
}
