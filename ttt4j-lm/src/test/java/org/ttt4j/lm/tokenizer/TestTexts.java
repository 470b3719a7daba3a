package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.ttt4j.lm.data.Corpus;

/** Deterministic test inputs: random bytes, random Unicode, and real Java source from the JDK's src.zip. */
final class TestTexts {
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
     * The JDK's source archive where the project looks for it, {@link Corpus#jdkSourceZip()}: lib/src.zip
     * under java.home of the JVM running the tests (the JDK the Maven launcher found). Fails the test,
     * naming the path, when that JDK ships no sources: the real-text tests need them.
     */
    static Path srcZip() {
        Path zip = Corpus.jdkSourceZip();
        if (!Files.isRegularFile(zip)) {
            fail("the tokenizer tests read real Java source from the JDK's src.zip, but " + zip + " does not exist: the JDK at "
                    + System.getProperty("java.home") + " ships no sources; run the tests with a JDK that does (JAVA_HOME)");
        }
        return zip;
    }

    /** {@code n} real .java files from src.zip (a seeded draw from a few packages), keyed by their names. */
    static Map<String, byte[]> realText(int n, int maxBytesEach) {
        Path zip = srcZip();
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            List<ZipEntry> entries = new ArrayList<>();
            z.stream().filter(e -> e.getName().endsWith(".java")
                    && (e.getName().startsWith("java.base/java/lang/") || e.getName().startsWith("java.base/java/util/")
                    || e.getName().startsWith("java.desktop/"))).forEach(entries::add);
            if (entries.size() < n) fail(zip + " holds " + entries.size() + " .java files of java.lang, java.util and java.desktop, need " + n);
            entries.sort(Comparator.comparing(ZipEntry::getName));
            Random r = new Random(7);
            for (int i = 0; i < n; i++) {
                ZipEntry e = entries.remove(r.nextInt(entries.size()));
                byte[] b = z.getInputStream(e).readAllBytes();
                out.put("src.zip:" + e.getName(), b.length > maxBytesEach ? Arrays.copyOf(b, maxBytesEach) : b);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Java-looking text: extra BPE training corpus beside the real source. */
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
