package io.twilight4j.cli;

import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options shared by {@code generate} and {@code chat}: the model file, sampling, attention policy and backend. */
final class ModelOptions {

    @Option(names = {"-m", "--model"}, paramLabel = "FILE", description = "the .gguf model (required unless the command offers --synthetic)")
    Path model;
    @Option(names = {"-n", "--max-tokens"}, defaultValue = "128", description = "most tokens generated (per turn in chat; default: ${DEFAULT-VALUE})")
    int maxTokens;
    @Option(names = "--temperature", defaultValue = "0.8", description = "0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature;
    @Option(names = "--top-p", defaultValue = "0.95", description = "nucleus sampling mass (default: ${DEFAULT-VALUE})")
    float topP;
    @Option(names = "--top-k", defaultValue = "40", description = "sample among the K likeliest tokens, 0 = all (default: ${DEFAULT-VALUE})")
    int topK;
    @Option(names = {"-s", "--seed"}, description = "sampling seed (default: random)")
    Long seed;
    @Option(names = "--attention", defaultValue = "dense", paramLabel = "POLICY",
            description = "attention policy of the layers past --dense-layers, e.g. quest:1024+twilight:0.95 (default: ${DEFAULT-VALUE})")
    String attention;
    @Option(names = "--dense-layers", defaultValue = "2", description = "leading layers that always attend densely (default: ${DEFAULT-VALUE})")
    int denseLayers;
    @Option(names = "--dense-prompt", description = "prompt tokens attend densely under any --attention policy: dense "
            + "prefill, sparse decode (the Twilight paper's setting; slower on long prompts)")
    boolean densePrompt;
    @Option(names = "--ctx", defaultValue = "4096", description = "most tokens kept in the KV cache, capped at the model's context length (default: ${DEFAULT-VALUE})")
    int ctx;
    @Option(names = "--label-channels", paramLabel = "FILE",
            description = "Double Sparsity label channels for a ds policy (default: calibrated on the prompt)")
    Path labelChannels;
    @Option(names = "--save-label-channels", paramLabel = "FILE", description = "write the label channels calibrated on the prompt")
    Path saveLabelChannels;
    @Option(names = "--no-key-smoothing", description = "a policy that reads the 4-bit keys (Quest, Twilight's estimate) quantizes them as they are; "
            + "by default they are smoothed per channel, calibrated on the first prompt's first tokens")
    boolean noKeySmoothing;
    @Mixin
    BackendOptions run = new BackendOptions();
}
