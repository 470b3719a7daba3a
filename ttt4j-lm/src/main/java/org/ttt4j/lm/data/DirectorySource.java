package org.ttt4j.lm.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Every regular file under a directory (recursively) whose relative path matches the globs.
 * Hidden files and directories (name starting with '.') are skipped, so download caches and
 * marker files next to a corpus are not read. Files ending in .gz are decompressed.
 */
final class DirectorySource implements CorpusSource {
    private final Path root;
    private final Globs globs;
    private final List<DocumentInfo> entries;

    DirectorySource(Path root, Globs globs) {
        this.root = root;
        this.globs = globs;
        List<DocumentInfo> list = new ArrayList<>();
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    if (!dir.equals(root) && dir.getFileName().toString().startsWith(".")) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (!attrs.isRegularFile() || file.getFileName().toString().startsWith(".")) {
                        return FileVisitResult.CONTINUE;
                    }
                    String id = idOf(file);
                    if (globs.matches(id)) {
                        list.add(new DocumentInfo(id, attrs.size(), attrs.lastModifiedTime().toMillis()));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    throw new IOException("cannot read " + file + ": " + e.getMessage(), e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list corpus directory " + root + ": " + e.getMessage(), e);
        }
        list.sort(Comparator.comparing(DocumentInfo::id));
        if (list.isEmpty()) {
            throw new IllegalArgumentException("no documents in directory " + root + " matched the globs ("
                    + globs + "; hidden files are skipped)");
        }
        this.entries = List.copyOf(list);
    }

    private String idOf(Path file) {
        StringBuilder sb = new StringBuilder();
        for (Path part : root.relativize(file)) {
            if (!sb.isEmpty()) sb.append('/');
            sb.append(part);
        }
        return sb.toString();
    }

    @Override
    public String description() {
        return "directory " + root + " (" + globs + ")";
    }

    @Override
    public Globs globs() {
        return globs;
    }

    @Override
    public List<DocumentInfo> entries() {
        return entries;
    }

    @Override
    public Document read(DocumentInfo info) {
        Path file = root.resolve(info.id());
        return new Document(info.id(), FileSource.readFile(file));
    }

    @Override
    public void close() {}
}
