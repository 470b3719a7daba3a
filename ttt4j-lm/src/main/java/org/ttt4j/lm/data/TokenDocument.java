package org.ttt4j.lm.data;

/** A whole tokenised document (no boundary token), e.g. for loss-by-position evaluation. */
public record TokenDocument(String id, int[] tokens) {
    public int length() {
        return tokens.length;
    }
}
