package org.ttt4j.lm.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** A single file as a single document; a .gz file is decompressed (one document per .gz file). */
final class FileSource implements CorpusSource {
    private final Path file;
    private final List<DocumentInfo> entries;

    FileSource(Path file) {
        this.file = file;
        try {
            BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
            String name = file.getFileName().toString();
            String id = name.endsWith(".gz") ? name.substring(0, name.length() - 3) : name;
            this.entries = List.of(new DocumentInfo(id, attrs.size(), attrs.lastModifiedTime().toMillis()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read corpus file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads a whole file, decompressing it when its name ends in .gz. */
    static byte[] readFile(Path file) {
        try {
            org.ttt4j.lm.io.AtomicFiles.requireRegularFile(file); // a FIFO or device would block or never end
            if (file.getFileName().toString().endsWith(".gz")) {
                try (InputStream in = new GZIPInputStream(Files.newInputStream(file), 1 << 16)) {
                    return in.readAllBytes();
                }
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read corpus document " + file + ": " + e, e);
        }
    }

    @Override
    public String description() {
        return "file " + file;
    }

    @Override
    public Globs globs() {
        return Globs.all();
    }

    @Override
    public List<DocumentInfo> entries() {
        return entries;
    }

    @Override
    public Document read(DocumentInfo info) {
        return new Document(info.id(), readFile(file));
    }

    @Override
    public void close() {}
}
