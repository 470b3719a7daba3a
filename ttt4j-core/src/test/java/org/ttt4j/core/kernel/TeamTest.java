package org.ttt4j.core.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The team's regions and barriers: every member runs, a barrier orders the phases, a failure reaches the caller. */
class TeamTest {
    @Test
    void membersSplitTheWorkAndBarriersOrderThePhases() {
        for (int size : new int[] {1, 2, 3}) {
            Team team = Team.of(size);
            int n = 1000;
            int[] a = new int[n], b = new int[n];
            for (int round = 0; round < 50; round++) {
                team.run((m, members, t) -> {
                    for (int i = Team.from(n, m, members); i < Team.from(n, m + 1, members); i++) a[i] = i;
                    t.barrier(); // phase two reads what other members wrote in phase one
                    for (int i = Team.from(n, m, members); i < Team.from(n, m + 1, members); i++) b[i] = a[n - 1 - i] + 1;
                    t.barrier();
                });
                int[] want = new int[n];
                for (int i = 0; i < n; i++) want[i] = n - i;
                assertArrayEquals(want, b, "team of " + size);
                java.util.Arrays.fill(a, -1);
            }
        }
    }

    @Test
    void aFailingMemberFailsTheRegionAndTheTeamRunsAgain() {
        Team team = Team.of(2);
        var e = assertThrows(IllegalStateException.class, () -> team.run((m, members, t) -> {
            if (m == members - 1) throw new IllegalStateException("member failed");
            t.barrier();
        }));
        assertEquals("member failed", e.getMessage());
        int[] seen = new int[2];
        team.run((m, members, t) -> {
            seen[m] = members;
            t.barrier();
        });
        assertArrayEquals(new int[] {2, 2}, seen);
    }

    @Test
    void aRegionInsideARegionRunsOnItsCallerAlone() {
        Team team = Team.of(2);
        int[] inner = new int[2];
        team.run((m, members, t) -> {
            if (m == 0) team.run((m2, members2, t2) -> inner[0] = members2);
        });
        assertEquals(1, inner[0]);
    }
}
