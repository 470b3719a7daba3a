package org.ttt4j.lm.data;

/**
 * A batch of token windows, row-major {@code [rows, columns]} in one flat array so that it can
 * become a tensor without copying row by row. A window of {@code columns = context + 1} tokens
 * gives inputs {@code [0, context)} and targets {@code [1, context]}.
 *
 * <p>{@code lengths[r]} is the number of real tokens in row r; positions at or after it are
 * padding (the document-boundary id) and must be left out of a loss. Training batches are always
 * full; the last window of a validation document may be shorter.
 */
public record Batch(int rows, int columns, int[] tokens, int[] lengths) {
    public Batch {
        if (tokens.length != rows * columns || lengths.length != rows) {
            throw new IllegalArgumentException("batch shape [" + rows + ", " + columns + "] does not match arrays");
        }
    }

    public int get(int row, int column) {
        return tokens[row * columns + column];
    }

    /** A copy of one row. */
    public int[] row(int row) {
        int[] out = new int[columns];
        System.arraycopy(tokens, row * columns, out, 0, columns);
        return out;
    }

    /** Number of predicted positions (targets) that are not padding. */
    public long targetCount() {
        long n = 0;
        for (int len : lengths) n += Math.max(0, len - 1);
        return n;
    }
}
