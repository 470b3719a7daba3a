package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * eval's JSON lines carry their keys sorted, so the same results print the same bytes in every
 * JVM (a Map.of's iteration order changes with each JVM's hash seed).
 */
class JsonLinesTest {
    @Test
    void evalLinesHaveSortedKeys() throws Exception {
        Map<String, Object> row = Map.of("eval", "loss_by_position", "label", "ttt-e2e", "mean_loss", 4.17, "documents", 8, "tokens", 32768,
                "by_context", Map.of("4096", 4.17, "128", 3.9, "1024", 4.0));
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var tree = json.readTree(EvalSuite.LINE.writeValueAsString(row));
        List<String> keys = new ArrayList<>();
        tree.fieldNames().forEachRemaining(keys::add);
        assertEquals(keys.stream().sorted().toList(), keys);
        List<String> inner = new ArrayList<>();
        tree.get("by_context").fieldNames().forEachRemaining(inner::add);
        assertEquals(List.of("1024", "128", "4096"), inner);
    }
}
