package org.ttt4j.lm.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusSourceTest {
    @TempDir
    Path tmp;

    static void write(Path p, String s) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, s);
    }

    static List<String> ids(CorpusSource s) {
        return s.entries().stream().map(CorpusSource.DocumentInfo::id).toList();
    }

    static String text(Document d) {
        return new String(d.content(), StandardCharsets.UTF_8);
    }

    @Test
    void globsFollowTheDocumentedSyntax() {
        Globs g = new Globs(List.of("**/*.java"), List.of("jdk.localedata/**"));
        assertTrue(g.matches("A.java"));
        assertTrue(g.matches("java.base/java/lang/String.java"));
        assertFalse(g.matches("jdk.localedata/sun/util/X.java"));
        assertFalse(g.matches("java.base/README.md"));
        Globs name = new Globs(List.of("*.txt", "docs/{a,b}?.md"), List.of());
        assertTrue(name.matches("x/y/z.txt"));
        assertTrue(name.matches("docs/a1.md"));
        assertFalse(name.matches("docs/c1.md"));
        assertFalse(name.matches("docs/a12.md"));
        assertTrue(Globs.all().matches("anything/at/all"));
    }

    @Test
    void directoryIsRecursiveFilteredSortedAndSkipsHiddenFiles() throws IOException {
        write(tmp.resolve("b/Two.java"), "two");
        write(tmp.resolve("a/One.java"), "one");
        write(tmp.resolve("a/notes.txt"), "notes");
        write(tmp.resolve("gen/Table.java"), "table");
        write(tmp.resolve(".cache/Hidden.java"), "hidden");
        write(tmp.resolve("Top.java"), "top");
        try (CorpusSource s = Corpus.open(tmp, new Globs(List.of("**/*.java"), List.of("gen/**")))) {
            assertEquals(List.of("Top.java", "a/One.java", "b/Two.java"), ids(s));
            assertEquals(List.of("top", "one", "two"), s.documents().map(CorpusSourceTest::text).toList());
        }
        try (CorpusSource s = Corpus.open(tmp + ";include=*.txt")) {
            assertEquals(List.of("a/notes.txt"), ids(s));
        }
    }

    @Test
    void zipEntriesAreFilteredAndSorted() throws IOException {
        Path zip = tmp.resolve("c.zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            for (String name : List.of("m/z/Z.java", "m/a/A.java", "jdk.localedata/L.java", "m/readme.txt")) {
                out.putNextEntry(new ZipEntry(name));
                out.write(("content of " + name).getBytes(StandardCharsets.UTF_8));
                out.closeEntry();
            }
            out.putNextEntry(new ZipEntry("m/dir/"));
            out.closeEntry();
        }
        try (CorpusSource s = Corpus.open(zip + ";include=**/*.java;exclude=jdk.localedata/**")) {
            assertEquals(List.of("m/a/A.java", "m/z/Z.java"), ids(s));
            assertEquals("content of m/z/Z.java", text(s.documents().toList().get(1)));
            assertNotEquals(0, s.entries().get(0).stamp(), "zip stamp is the CRC");
        }
        try (CorpusSource s = Corpus.open(zip.toString())) {
            assertEquals(4, s.entries().size());
        }
    }

    @Test
    void gzFileIsOneDecompressedDocumentAndPlainFileIsOne() throws IOException {
        Path gz = tmp.resolve("book.txt.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write("It was a dark and stormy night.".getBytes(StandardCharsets.UTF_8));
        }
        try (CorpusSource s = Corpus.open(gz.toString())) {
            List<Document> docs = s.documents().toList();
            assertEquals(1, docs.size());
            assertEquals("book.txt", docs.get(0).id());
            assertEquals("It was a dark and stormy night.", text(docs.get(0)));
        }
        write(tmp.resolve("plain.txt"), "plain text");
        try (CorpusSource s = Corpus.open(tmp.resolve("plain.txt").toString())) {
            assertEquals("plain text", text(s.documents().findFirst().orElseThrow()));
        }
        // inside a directory, .gz files are decompressed too
        try (CorpusSource s = Corpus.open(tmp + ";include=*.gz")) {
            assertEquals("It was a dark and stormy night.", text(s.documents().findFirst().orElseThrow()));
        }
    }

    @Test
    void documentsAreReadLazilyOneAtATime() throws IOException {
        for (int i = 0; i < 5; i++) write(tmp.resolve("d" + i + ".txt"), "original " + i);
        try (CorpusSource s = Corpus.open(tmp.toString())) {
            // changes after opening are seen: nothing was read up front
            Files.writeString(tmp.resolve("d4.txt"), "changed after open");
            Iterator<Document> it = s.documents().iterator();
            assertEquals("original 0", text(it.next()));
            Files.delete(tmp.resolve("d2.txt"));
            assertEquals("original 1", text(it.next()));
            UncheckedIOException e = assertThrows(UncheckedIOException.class, it::next);
            assertTrue(e.getMessage().contains("d2.txt"), e.getMessage());
            assertEquals("changed after open", text(s.read(s.entries().get(4))));
        }
    }

    @Test
    void errorsNameThePathAndGlobs() throws IOException {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> Corpus.open(tmp.resolve("nope").toString()));
        assertTrue(missing.getMessage().contains("nope"), missing.getMessage());

        write(tmp.resolve("x/a.txt"), "a");
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> Corpus.open(tmp.resolve("x") + ";include=**/*.java;exclude=foo/**"));
        assertTrue(none.getMessage().contains("**/*.java") && none.getMessage().contains("foo/**"), none.getMessage());

        Path bad = tmp.resolve("broken.zip");
        Files.writeString(bad, "this is not a zip");
        UncheckedIOException badZip = assertThrows(UncheckedIOException.class, () -> Corpus.open(bad.toString()));
        assertTrue(badZip.getMessage().contains("broken.zip"), badZip.getMessage());

        IllegalArgumentException opt = assertThrows(IllegalArgumentException.class, () -> Corpus.open(tmp + ";includ=*"));
        assertTrue(opt.getMessage().contains("includ"), opt.getMessage());
    }

    @Test
    void defaultCorpusIsTheJdkSourceZipWithoutLocaleData() {
        assertTrue(Files.exists(Corpus.jdkSourceZip()), "this JDK ships lib/src.zip: " + Corpus.jdkSourceZip());
        try (CorpusSource s = Corpus.open("default")) {
            List<String> ids = ids(s);
            assertTrue(ids.size() > 10_000, "entries: " + ids.size());
            assertTrue(ids.contains("java.base/java/lang/String.java"));
            assertTrue(ids.stream().noneMatch(id -> id.startsWith("jdk.localedata/")));
            assertTrue(ids.stream().allMatch(id -> id.endsWith(".java")));
            assertEquals(ids.stream().sorted().toList(), ids);
            Document first = s.read(s.entries().get(0));
            assertTrue(first.content().length > 0);
            String string = text(s.read(s.entries().get(ids.indexOf("java.base/java/lang/String.java"))));
            assertTrue(string.contains("public final class String"));
        }
        try (CorpusSource s = Corpus.open("default;include=java.base/java/lang/*.java")) {
            assertTrue(ids(s).stream().allMatch(id -> id.startsWith("java.base/java/lang/") && id.indexOf('/', 20) < 0));
        }
    }
}
