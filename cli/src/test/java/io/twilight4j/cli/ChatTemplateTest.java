package io.twilight4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.twilight4j.cli.ChatTemplate.Message;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The three chat formats on one fixed conversation, against the strings their reference documents give
 * (Meta's Llama 3 model card prompt format, OpenAI/Qwen ChatML, the Llama 2 chat template of
 * meta-llama/Llama-2-7b-chat-hf), and the turn-by-turn pieces {@code chat} feeds adding up to the same text.
 */
class ChatTemplateTest {

    private static final List<Message> CONVERSATION = List.of(
            new Message("system", "You are terse."),
            new Message("user", "Hi!"),
            new Message("assistant", " Hello."),
            new Message("user", "Bye "));

    @Test
    void llama3() {
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(expected, ChatTemplate.LLAMA3.render(CONVERSATION, "<|begin_of_text|>", "<|end_of_text|>", true));
        assertEquals(expected, turnByTurn(ChatTemplate.LLAMA3, "<|begin_of_text|>", "<|end_of_text|>"));
    }

    @Test
    void chatMl() {
        String expected = "<|im_start|>system\nYou are terse.<|im_end|>\n"
                + "<|im_start|>user\nHi!<|im_end|>\n"
                + "<|im_start|>assistant\nHello.<|im_end|>\n"
                + "<|im_start|>user\nBye<|im_end|>\n"
                + "<|im_start|>assistant\n";
        assertEquals(expected, ChatTemplate.CHATML.render(CONVERSATION, "<s>", "</s>", true));
        assertEquals(expected, turnByTurn(ChatTemplate.CHATML, "<s>", "</s>"));
    }

    @Test
    void llama2() {
        String expected = "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi! [/INST] Hello. </s>"
                + "<s>[INST] Bye [/INST]";
        assertEquals(expected, ChatTemplate.LLAMA2.render(CONVERSATION, "<s>", "</s>", true));
        assertEquals(expected, turnByTurn(ChatTemplate.LLAMA2, "<s>", "</s>"));
    }

    @Test
    void plainFallback() {
        assertEquals("User: Hi!\nAssistant:", ChatTemplate.PLAIN.render(List.of(new Message("user", "Hi!")), "<s>", "</s>", true));
    }

    @Test
    void recognisesTemplatesByTheirMarkers() {
        assertEquals(ChatTemplate.LLAMA3, ChatTemplate.recognise("{{ '<|start_header_id|>' + message['role'] }}"));
        assertEquals(ChatTemplate.CHATML, ChatTemplate.recognise("{{'<|im_start|>' + message['role'] + '\\n'}}"));
        assertEquals(ChatTemplate.LLAMA2, ChatTemplate.recognise("{{ bos_token + '[INST] ' + content }}"));
        assertNull(ChatTemplate.recognise("{{ message['content'] }}"));
        assertNull(ChatTemplate.recognise(null));
    }

    /** What ChatCommand feeds, turn by turn, with the reply "Hello." as if generated (the model writes its own leading space). */
    private static String turnByTurn(ChatTemplate t, String bos, String eos) {
        String system = "You are terse.";
        String reply = t == ChatTemplate.LLAMA2 ? " Hello." : "Hello.";
        return t.begin(bos) + t.system(system) + t.user("Hi!", system, bos) + t.assistantPrompt() + reply
                + t.assistantEnd(eos) + t.user("Bye ", null, bos) + t.assistantPrompt();
    }
}
