package io.twilight4j.cli;

import java.util.List;

/**
 * The chat formats {@code chat} knows, recognised from a GGUF's {@code tokenizer.chat_template} by their
 * markers, and written out as the reference templates do (contents trimmed, as those templates do).
 * A conversation is written turn by turn, so the KV cache can keep what was already fed.
 */
enum ChatTemplate {

    /** Meta Llama 3: {@code <|start_header_id|>role<|end_header_id|>\n\n content <|eot_id|>}, BOS first. */
    LLAMA3 {
        @Override
        String begin(String bos) {
            return bos;
        }

        @Override
        String system(String content) {
            return header("system") + content.trim() + "<|eot_id|>";
        }

        @Override
        String user(String content, String system, String bos) {
            return header("user") + content.trim() + "<|eot_id|>";
        }

        @Override
        String assistantPrompt() {
            return header("assistant");
        }

        @Override
        String assistantEnd(String eos) {
            return "<|eot_id|>";
        }

        private static String header(String role) {
            return "<|start_header_id|>" + role + "<|end_header_id|>\n\n";
        }
    },

    /** ChatML: {@code <|im_start|>role\n content <|im_end|>\n}. */
    CHATML {
        @Override
        String system(String content) {
            return "<|im_start|>system\n" + content.trim() + "<|im_end|>\n";
        }

        @Override
        String user(String content, String system, String bos) {
            return "<|im_start|>user\n" + content.trim() + "<|im_end|>\n";
        }

        @Override
        String assistantPrompt() {
            return "<|im_start|>assistant\n";
        }

        @Override
        String assistantEnd(String eos) {
            return "<|im_end|>\n";
        }
    },

    /**
     * Llama 2 chat: {@code <s>[INST] user [/INST] reply </s>} per exchange; the system prompt goes into the
     * first user message inside {@code <<SYS>>} markers.
     */
    LLAMA2 {
        @Override
        String system(String content) {
            return ""; // folded into the first user message
        }

        @Override
        String user(String content, String system, String bos) {
            String sys = system == null ? "" : "<<SYS>>\n" + system.trim() + "\n<</SYS>>\n\n";
            return bos + "[INST] " + sys + content.trim() + " [/INST]";
        }

        @Override
        String assistant(String content, String eos) {
            return " " + content.trim() + " " + eos;
        }

        @Override
        String assistantPrompt() {
            return "";
        }

        @Override
        String assistantEnd(String eos) {
            return " " + eos;
        }
    },

    /** No known template: plain {@code User: ...\nAssistant:} lines. */
    PLAIN {
        @Override
        String system(String content) {
            return content.trim() + "\n";
        }

        @Override
        String user(String content, String system, String bos) {
            return "User: " + content.trim() + "\n";
        }

        @Override
        String assistantPrompt() {
            return "Assistant:";
        }

        @Override
        String assistantEnd(String eos) {
            return "\n";
        }
    };

    /** One message of a conversation; role is system, user or assistant. */
    record Message(String role, String content) {
    }

    /** The format of {@code chatTemplate} (a Jinja template from the GGUF), or null when none is recognised. */
    static ChatTemplate recognise(String chatTemplate) {
        if (chatTemplate == null) {
            return null;
        }
        if (chatTemplate.contains("<|start_header_id|>")) {
            return LLAMA3;
        }
        if (chatTemplate.contains("<|im_start|>")) {
            return CHATML;
        }
        if (chatTemplate.contains("[INST]")) {
            return LLAMA2;
        }
        return null;
    }

    /** Text before the first message (BOS where the template writes it). */
    String begin(String bos) {
        return "";
    }

    /** A system message. */
    abstract String system(String content);

    /** A user message; {@code system} is the system prompt for formats that fold it into the first user message, else null. */
    abstract String user(String content, String system, String bos);

    /** A whole assistant message (as in the history): the generation prompt, the content and the end of turn. */
    String assistant(String content, String eos) {
        return assistantPrompt() + content.trim() + assistantEnd(eos);
    }

    /** What starts the assistant's reply (the generation prompt). */
    abstract String assistantPrompt();

    /** What closes the assistant's reply; fed after a generated reply so the next turn follows a closed one. */
    abstract String assistantEnd(String eos);

    /** The whole conversation, as the template renders it; with the generation prompt when {@code addGenerationPrompt}. */
    String render(List<Message> messages, String bos, String eos, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder(begin(bos));
        String pendingSystem = null;
        for (Message m : messages) {
            switch (m.role()) {
                case "system" -> {
                    sb.append(system(m.content()));
                    pendingSystem = m.content();
                }
                case "user" -> {
                    sb.append(user(m.content(), pendingSystem, bos));
                    pendingSystem = null;
                }
                case "assistant" -> sb.append(assistant(m.content(), eos));
                default -> throw new IllegalArgumentException("chat message role '" + m.role() + "': expected system, user or assistant");
            }
        }
        if (addGenerationPrompt) {
            sb.append(assistantPrompt());
        }
        return sb.toString();
    }
}
