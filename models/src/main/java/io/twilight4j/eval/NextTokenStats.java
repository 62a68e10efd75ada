package io.twilight4j.eval;

/**
 * Running sums over the scored steps of one policy: the text's negative log-likelihood, the KL divergence
 * of the policy's next-token distribution from dense's, and how often both rank the same token first.
 * All in double precision from the float logits.
 */
final class NextTokenStats {

    private double nllSum;
    private double klSum;
    private double klMax;
    private int agreed;
    private int steps;

    /**
     * Adds one step: {@code logProbs} the policy's log-probabilities and {@code target} the text's next token,
     * against {@code dense}, the same step's dense distribution (the policy's own for dense itself).
     */
    void add(double[] logProbs, Reference dense, int target) {
        nllSum -= logProbs[target];
        double kl = 0;
        for (int i = 0; i < logProbs.length; i++) {
            double p = dense.probs[i];
            if (p > 0) {
                kl += p * (dense.logProbs[i] - logProbs[i]);
            }
        }
        // Rounding can leave a sum of tiny terms a hair below zero; KL itself never is.
        kl = Math.max(0, kl);
        klSum += kl;
        klMax = Math.max(klMax, kl);
        if (argmax(logProbs) == dense.top) {
            agreed++;
        }
        steps++;
    }

    /**
     * Dense attention's next-token distribution at one step, as every policy's step is compared with it: its
     * log-probabilities, probabilities and top token, computed once per step, not once per policy.
     */
    static final class Reference {
        final double[] logProbs;
        final double[] probs;
        int top;

        Reference(int vocab) {
            logProbs = new double[vocab];
            probs = new double[vocab];
        }

        /** Sets this step's distribution from dense's logits. */
        void set(float[] logits) {
            logSoftmax(logits, logProbs);
            for (int i = 0; i < probs.length; i++) {
                probs[i] = Math.exp(logProbs[i]);
            }
            top = argmax(logProbs);
        }
    }

    int steps() {
        return steps;
    }

    double perplexity() {
        return Math.exp(nllSum / steps);
    }

    double meanKl() {
        return klSum / steps;
    }

    double maxKl() {
        return klMax;
    }

    double top1Agreement() {
        return (double) agreed / steps;
    }

    /** log softmax of {@code logits} into {@code out}, by log-sum-exp around the largest logit. */
    static void logSoftmax(float[] logits, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double logZ = max + Math.log(sum);
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - logZ;
        }
    }

    /** The first index of the largest value. */
    static int argmax(double[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
