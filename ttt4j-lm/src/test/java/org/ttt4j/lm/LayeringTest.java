package org.ttt4j.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Lower layers never use higher ones: every reference from one package of the engine or the
 * library to another (imports and fully qualified names, comments aside) must point to a lower
 * floor. Methods reach each other only through the methods package, with the exceptions listed.
 */
class LayeringTest {
    /** Each package's floor: a package may use packages on lower floors only (and its own subpackages' parent). */
    static final Map<String, Integer> FLOORS = Map.ofEntries(
            Map.entry("core.tensor", 0), Map.entry("core.kernel", 1), Map.entry("core.ops", 2), Map.entry("core.autograd", 3),
            Map.entry("lm.io", 10), Map.entry("lm.tokenizer", 10), Map.entry("lm.optim", 10),
            Map.entry("lm.data", 11), Map.entry("lm.layers", 11), Map.entry("lm.layers.ttt", 12),
            Map.entry("lm.model", 20), Map.entry("lm.decode", 21),
            Map.entry("lm.methods", 30), Map.entry("lm.methods.*", 31),
            Map.entry("lm.train", 40), Map.entry("lm.infer", 40), Map.entry("lm.eval", 41), Map.entry("lm.hf", 45),
            Map.entry("lm.api", 50));

    /** Uses across method packages, each with its reason. */
    static final Set<String> ALLOWED = Set.of(
            "lm.methods.qttt -> lm.methods.e2e"); // qTTT adapts TTT-E2E models through their session

    static final Pattern REFERENCE = Pattern.compile("org\\.ttt4j\\.((?:core|lm)(?:\\.[a-z][a-z0-9]*)+)");

    @Test
    void lowerLayersNeverUseHigherOnes() throws IOException {
        List<String> violations = new ArrayList<>();
        Set<String> seen = new TreeSet<>();
        for (Path root : List.of(Path.of("../ttt4j-core/src/main/java"), Path.of("src/main/java"))) {
            assertTrue(Files.isDirectory(root), root.toAbsolutePath() + " is not a folder");
            try (Stream<Path> files = Files.walk(root)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    String from = packageOf(root.relativize(f.getParent()).toString().replace('/', '.'));
                    seen.add(from);
                    String code = withoutComments(Files.readString(f));
                    Matcher m = REFERENCE.matcher(code);
                    while (m.find()) {
                        String to = packageOf(m.group(1));
                        if (to.equals(from)) continue;
                        if (!allowed(from, to)) violations.add(root.relativize(f) + ": " + from + " -> " + to);
                    }
                }
            }
        }
        for (String p : seen) assertTrue(floor(p) != null, "package " + p + " has no floor in LayeringTest.FLOORS");
        assertEquals(List.of(), violations.stream().distinct().toList());
    }

    @Test
    void theCheckSeesAViolation() {
        assertTrue(!allowed("lm.model", "lm.train"), "model -> train must be refused");
        assertTrue(!allowed("lm.methods.e2e", "lm.methods.ttt"), "one method using another must be refused");
        assertTrue(allowed("lm.methods.e2e", "lm.methods"), "a method uses the methods package");
        assertTrue(allowed("lm.train", "lm.methods.e2e"), "tasks use methods");
    }

    static boolean allowed(String from, String to) {
        if (ALLOWED.contains(from + " -> " + to)) return true;
        Integer a = floor(from), b = floor(to);
        if (a == null || b == null) return false;
        if (from.startsWith("lm.methods.") && to.startsWith("lm.methods.")) return false; // sibling methods
        return b < a;
    }

    /** "lm.methods.e2e.E2eLoop"-like names to their package: drops class-name parts. */
    static String packageOf(String name) {
        String s = name.startsWith("org.ttt4j.") ? name.substring("org.ttt4j.".length()) : name;
        String[] parts = s.split("\\.");
        StringBuilder b = new StringBuilder();
        for (String p : parts) {
            if (p.isEmpty() || Character.isUpperCase(p.charAt(0))) break;
            if (!b.isEmpty()) b.append('.');
            b.append(p);
        }
        return b.toString();
    }

    static Integer floor(String pkg) {
        Integer f = FLOORS.get(pkg);
        if (f != null) return f;
        int dot = pkg.lastIndexOf('.');
        return dot < 0 ? null : FLOORS.get(pkg.substring(0, dot) + ".*");
    }

    static String withoutComments(String code) {
        return code.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
    }
}
