package org.ttt4j.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PythonPeerTest {
    @Test
    void answersWithTheLastJsonLineAndPassesArgumentsAndThreads() throws Exception {
        Map<String, Object> m = PythonPeer.run("/org/ttt4j/cli/bench/peer_answer.py", PythonPeer.interpreters(null), List.of("--x", "3"), 2, new java.io.PrintWriter(System.out, true));
        assertNotNull(m, "python3 runs the stand-in peer");
        assertEquals(List.of("--x", "3"), m.get("args"));
        assertEquals("2", m.get("threads"));
    }

    @Test
    void noInterpreterMeansNoComparisonNotAFailure() throws Exception {
        assertNull(PythonPeer.run("/org/ttt4j/cli/bench/peer_answer.py", List.of("/nonexistent/python3"), List.of(), 1, new java.io.PrintWriter(System.out, true)));
    }

    @Test
    void aMissingScriptIsNamed() {
        var e = assertThrows(IllegalStateException.class, () -> PythonPeer.run("/org/ttt4j/cli/bench/none.py", List.of("python3"), List.of(), 1, new java.io.PrintWriter(System.out, true)));
        assertTrue(e.getMessage().contains("none.py"), e.getMessage());
    }
}
