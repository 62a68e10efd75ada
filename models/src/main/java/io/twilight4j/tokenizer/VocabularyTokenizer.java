package io.twilight4j.tokenizer;

/** What every tokenizer over a GGUF {@link Vocabulary} answers the same way: ids, specials, pieces. */
abstract class VocabularyTokenizer implements Tokenizer {

    protected final Vocabulary vocab;

    VocabularyTokenizer(Vocabulary vocab) {
        this.vocab = vocab;
    }

    @Override
    public int bos() {
        return vocab.bos();
    }

    @Override
    public int eos() {
        return vocab.eos();
    }

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    @Override
    public boolean isSpecial(int token) {
        vocab.check(token);
        return vocab.type(token) == Vocabulary.CONTROL;
    }

    @Override
    public String piece(int token) {
        vocab.check(token);
        return vocab.pieces()[token];
    }

    @Override
    public boolean addBosByDefault() {
        return vocab.addBos();
    }
}
