package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The demo as a user runs it, through the command line with its output collected: the table it
 * prints shows the claim of {@link DemoClaimTest}, a lower loss with test-time updates than
 * without, by more in the second half of the document than in the first.
 */
class DemoPrintsTest {
    @Test
    void theDemoPrintsTheLossDropOfReadingWithTestTimeUpdates() {
        var r = Cli.printed("demo", "--tokens", "4096", "--sections", "2", "--generate", "0");
        assertEquals(0, r.status(), r.err());
        String[] lines = r.out().split("\n");
        assertTrue(r.out().contains("loss (nats per token) of each section of the document:"), r.out());
        double[] all = row(lines, "all"), first = row(lines, "0-"), second = rows(lines, "0-")[1];
        // Columns: without TTT, with TTT, gain (without - with).
        assertEquals(all[0] - all[1], all[2], 2e-3, "the printed gain is the difference");
        assertTrue(all[2] > 0.05, "reading with test-time updates lowers the loss: printed gain " + all[2] + "\n" + r.out());
        assertTrue(second[2] > first[2], "the gain grows with what was read: " + first[2] + " then " + second[2] + "\n" + r.out());
        assertTrue(r.out().contains("demo finished in"), r.out());
    }

    /** The numbers of the table row whose first column starts with {@code start}. */
    private static double[] row(String[] lines, String start) {
        return rows(lines, start)[0];
    }

    /** Rows of the loss table: the first row starting with {@code start} and every row after it up to "all". */
    private static double[][] rows(String[] lines, String start) {
        int i = 0;
        while (i < lines.length && !lines[i].startsWith(start)) i++;
        assertTrue(i < lines.length, "no row " + start + " in:\n" + String.join("\n", lines));
        java.util.List<double[]> out = new java.util.ArrayList<>();
        for (; i < lines.length && !lines[i].isBlank(); i++) {
            String[] cols = lines[i].trim().split("\\s+");
            out.add(Arrays.stream(cols, 1, 4).mapToDouble(Double::parseDouble).toArray());
            if (cols[0].equals("all")) break;
        }
        return out.toArray(double[][]::new);
    }
}
