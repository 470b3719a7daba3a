package org.ttt4j.lm.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/** Deterministic test inputs: random bytes, random Unicode, and real Java source from the JDK's src.zip. */
final class TestTexts {
    static final Path SRC_ZIP = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/lib/src.zip");

    private TestTexts() {
    }

    /** Random bytes, biased towards the troublesome ones: NUL, 0x80-0xFF, encoded surrogates, truncated sequences. */
    static byte[] randomBytes(Random r, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = switch (r.nextInt(6)) {
                case 0 -> 0;
                case 1 -> (byte) (0x80 + r.nextInt(128));
                case 2 -> (byte) ('a' + r.nextInt(26));
                case 3 -> (byte) " \n\t<|>'".charAt(r.nextInt(7));
                default -> (byte) r.nextInt(256);
            };
        }
        // a lone high surrogate U+D800 and a lone low surrogate U+DC00 in CESU-8 form, and a truncated 4-byte sequence
        if (n >= 12) {
            int p = r.nextInt(n - 11);
            byte[] bad = {(byte) 0xED, (byte) 0xA0, (byte) 0x80, 'x', (byte) 0xED, (byte) 0xB0, (byte) 0x80,
                    (byte) 0xF0, (byte) 0x9F, (byte) 0x98, 0, (byte) 0xC0};
            System.arraycopy(bad, 0, b, p, bad.length);
        }
        return b;
    }

    /** A random valid string: ASCII, Latin, CJK, astral emoji and symbols, combining marks, odd whitespace. */
    static String randomUnicode(Random r, int codePoints) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < codePoints; i++) {
            int cp = switch (r.nextInt(9)) {
                case 0 -> 0x20 + r.nextInt(0x5F);
                case 1 -> 0xA0 + r.nextInt(0x250);
                case 2 -> 0x4E00 + r.nextInt(0x5000);
                case 3 -> 0x1F300 + r.nextInt(0x300);          // emoji (astral)
                case 4 -> 0x10000 + r.nextInt(0x100000 - 0x10000); // any astral, unassigned included
                case 5 -> 0x0300 + r.nextInt(0x70);              // combining marks
                case 6 -> " \n\t\r\u00a0\u2028\u3000".codePointAt(r.nextInt(7));
                case 7 -> '0' + r.nextInt(10);
                default -> {
                    int c;
                    do {
                        c = r.nextInt(0x10000);
                    } while (c >= 0xD800 && c <= 0xDFFF);
                    yield c;
                }
            };
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }

    /**
     * Up to {@code n} real .java files from src.zip (the first by name from a few modules), keyed by a description.
     * If src.zip is missing, generated text stands in, and the key says so (it ends up in assertion messages).
     */
    static Map<String, byte[]> realText(int n, int maxBytesEach) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        if (Files.isRegularFile(SRC_ZIP)) {
            try (ZipFile z = new ZipFile(SRC_ZIP.toFile())) {
                List<ZipEntry> entries = new ArrayList<>();
                z.stream().filter(e -> e.getName().endsWith(".java")
                        && (e.getName().startsWith("java.base/java/lang/") || e.getName().startsWith("java.base/java/util/")
                        || e.getName().startsWith("java.desktop/"))).forEach(entries::add);
                entries.sort(Comparator.comparing(ZipEntry::getName));
                Random r = new Random(7);
                for (int i = 0; i < n && !entries.isEmpty(); i++) {
                    ZipEntry e = entries.remove(r.nextInt(entries.size()));
                    byte[] b = z.getInputStream(e).readAllBytes();
                    out.put("src.zip:" + e.getName(), b.length > maxBytesEach ? java.util.Arrays.copyOf(b, maxBytesEach) : b);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (out.isEmpty()) {
            Random r = new Random(11);
            for (int i = 0; i < n; i++) {
                out.put("generated text " + i + " (src.zip not found at " + SRC_ZIP + ", real text not tested)",
                        syntheticJava(r, maxBytesEach).getBytes(StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    /** Java-looking text, for when src.zip is missing and as a BPE training corpus. */
    static String syntheticJava(Random r, int approxBytes) {
        String[] words = {"public", "static", "final", "int", "return", "this", "value", "String", "new", "if", "else",
                "for", "while", "the", "of", "a", "is", "to", "byte", "length", "null", "throw", "Exception", "count"};
        StringBuilder sb = new StringBuilder("/** Generated. */\npackage x;\n");
        while (sb.length() < approxBytes) {
            sb.append("    ".repeat(1 + r.nextInt(3)));
            int k = 2 + r.nextInt(7);
            for (int i = 0; i < k; i++) {
                sb.append(words[Math.min(words.length - 1, (int) Math.abs(r.nextGaussian() * 8))]);
                sb.append(r.nextInt(5) == 0 ? "(" + r.nextInt(100) + ") " : " ");
            }
            sb.append(r.nextBoolean() ? ";\n" : "{\n");
        }
        return sb.toString();
    }
}
