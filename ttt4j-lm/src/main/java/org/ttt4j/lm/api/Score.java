package org.ttt4j.lm.api;

/**
 * What {@link LanguageModel#score} found: the tokens of the text and the loss of each one after the
 * first, {@code losses[i] = -ln p(tokens[i + 1] | tokens[0..i])} in nats.
 *
 * @param tokens the token ids scored
 * @param losses one loss per token after the first ({@code tokens.length - 1} of them, none for a text of fewer than two tokens)
 */
public record Score(int[] tokens, float[] losses) {
    /**
     * The mean loss per token in nats (NaN when there is no loss): the log of the perplexity.
     *
     * @return the mean of {@link #losses}
     */
    public double mean() {
        if (losses.length == 0) return Double.NaN;
        double sum = 0;
        for (float l : losses) sum += l;
        return sum / losses.length;
    }

    /**
     * The perplexity per token.
     *
     * @return {@code exp(mean())}
     */
    public double perplexity() {
        return Math.exp(mean());
    }
}
