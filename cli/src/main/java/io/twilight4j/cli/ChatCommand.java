package io.twilight4j.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code twilight4j chat}: one user message per stdin line, each answered in the model's chat format;
 * the KV cache keeps the conversation, so each turn feeds only its new tokens.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Chat with a GGUF model: reads one user message per line from stdin until EOF.")
final class ChatCommand implements Callable<Integer> {

    @Mixin
    ModelOptions options;
    @Option(names = "--system", description = "system prompt")
    String system;

    @Override
    public Integer call() throws Exception {
        try (ModelSession s = new ModelSession(options)) {
            String source = s.file.getString("tokenizer.chat_template", null);
            ChatTemplate template = ChatTemplate.recognise(source);
            if (template == null) {
                template = ChatTemplate.PLAIN;
                System.err.println(options.model + ": " + (source == null ? "no tokenizer.chat_template"
                        : "tokenizer.chat_template not recognised (Llama 3, ChatML or Llama 2)") + "; using plain 'User: ...\\nAssistant:' turns");
            }
            String bos = s.tokenizer.piece(s.tokenizer.bos());
            String eos = s.tokenizer.piece(s.tokenizer.eos());
            int eosId = s.tokenizer.eos();
            // Text not yet fed: the beginning, then before each later turn the close of the previous reply.
            String pending = template.begin(bos) + (system == null ? "" : template.system(system));
            boolean first = true;
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                String text = pending + template.user(line, first ? system : null, bos) + template.assistantPrompt();
                boolean addBos = first && s.tokenizer.addBosByDefault() && !text.startsWith(bos);
                float[] logits = s.prompt(s.tokenizer.encode(text, addBos, true));
                // A control token ends the reply: EOS or the format's end-of-turn marker (e.g. <|eot_id|>).
                s.generate(logits, options.maxTokens, t -> t == eosId || s.tokenizer.isSpecial(t), System.out);
                System.out.println();
                System.out.flush();
                pending = template.assistantEnd(eos);
                first = false;
            }
            System.err.println(s.stats());
        }
        return 0;
    }
}
