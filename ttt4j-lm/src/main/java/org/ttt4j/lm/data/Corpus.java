package org.ttt4j.lm.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Opens corpus sources from a path or a one-line spec, so that the CLI, benchmarks and tests name
 * corpora the same way.
 *
 * <p>Spec syntax: {@code PATH[;include=GLOB,GLOB...][;exclude=GLOB,GLOB...]}. PATH is a plain text
 * file, a .gz file (one document), a directory (recursive) or a zip archive; {@code default} or an
 * empty PATH is the running JDK's {@code lib/src.zip}, for which the defaults are
 * {@link #JDK_INCLUDE} and {@link #JDK_EXCLUDE} (generated locale tables left out). An explicit
 * {@code exclude=} with no globs clears the default excludes. Examples: {@code default},
 * {@code default;include=java.base/**}, {@code data/prose;include=*.txt;exclude=python-doc/**}.
 */
public final class Corpus {
    /** Default include globs for the JDK's src.zip. */
    public static final List<String> JDK_INCLUDE = List.of("**/*.java");
    /** Default exclude globs for the JDK's src.zip: jdk.localedata is generated tables, not code. */
    public static final List<String> JDK_EXCLUDE = List.of("jdk.localedata/**");

    private Corpus() {}

    /** The running JDK's source archive, {@code $java.home/lib/src.zip} (may not exist). */
    public static Path jdkSourceZip() {
        return Path.of(System.getProperty("java.home"), "lib", "src.zip");
    }

    /** Opens a corpus from a spec string; see the class comment for the syntax. */
    public static CorpusSource open(String spec) {
        String s = spec == null ? "" : spec.strip();
        String[] parts = s.split(";", -1);
        String pathPart = parts[0].strip();
        List<String> include = null;
        List<String> exclude = null;
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].strip();
            if (p.isEmpty()) continue;
            int eq = p.indexOf('=');
            String key = eq < 0 ? p : p.substring(0, eq).strip();
            List<String> globs = eq < 0 ? List.of() : splitGlobs(p.substring(eq + 1));
            switch (key) {
                case "include" -> include = globs;
                case "exclude" -> exclude = globs;
                default -> throw new IllegalArgumentException("corpus spec '" + spec + "': unknown option '" + key
                        + "' (expected PATH[;include=GLOB,...][;exclude=GLOB,...])");
            }
        }
        boolean isDefault = pathPart.isEmpty() || pathPart.equals("default");
        Path path = isDefault ? jdkSourceZip() : Path.of(pathPart);
        if (isDefault && !Files.exists(path)) {
            throw new IllegalArgumentException("the default corpus is the JDK's source archive, but " + path
                    + " does not exist (this JDK ships no sources); pass a corpus path instead");
        }
        boolean jdk = isDefault || path.toAbsolutePath().normalize().equals(jdkSourceZip().toAbsolutePath().normalize());
        if (include == null) include = jdk ? JDK_INCLUDE : List.of();
        if (exclude == null) exclude = jdk ? JDK_EXCLUDE : List.of();
        return open(path, new Globs(include, exclude));
    }

    private static List<String> splitGlobs(String list) {
        List<String> out = new ArrayList<>();
        // commas inside {a,b} belong to the glob
        int depth = 0;
        StringBuilder cur = new StringBuilder();
        for (char c : list.toCharArray()) {
            if (c == '{') depth++;
            if (c == '}') depth--;
            if (c == ',' && depth == 0) {
                if (!cur.toString().isBlank()) out.add(cur.toString().strip());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        if (!cur.toString().isBlank()) out.add(cur.toString().strip());
        return out;
    }

    /**
     * Opens a path: a directory, a zip archive (by extension .zip/.jar or content), or a single
     * file (.gz decompressed). Globs apply to directories and zips; a single file is always one
     * document.
     */
    public static CorpusSource open(Path path, Globs globs) {
        if (!Files.exists(path)) {
            throw new IllegalArgumentException("corpus path " + path + " does not exist");
        }
        if (Files.isDirectory(path)) return new DirectorySource(path, globs);
        if (!Files.isReadable(path)) throw new IllegalArgumentException("corpus file " + path + " is not readable");
        if (isZip(path)) return new ZipSource(path, globs);
        return new FileSource(path);
    }

    private static boolean isZip(Path path) {
        String name = path.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (name.endsWith(".zip") || name.endsWith(".jar")) return true;
        try (InputStream in = Files.newInputStream(path)) {
            byte[] magic = in.readNBytes(4);
            return Arrays.equals(magic, new byte[] {'P', 'K', 3, 4});
        } catch (IOException e) {
            return false;
        }
    }
}
