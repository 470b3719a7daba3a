package org.ttt4j.lm.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The file entries of a zip archive whose names match the globs; contents are inflated one entry
 * at a time when read. The change stamp of an entry is its CRC-32, so an identical archive that was
 * reinstalled (new mtime) still reuses a token cache.
 */
final class ZipSource implements CorpusSource {
    private final Path path;
    private final Globs globs;
    private final ZipFile zip;
    private final List<DocumentInfo> entries;
    private final Map<String, ZipEntry> byId = new HashMap<>();

    ZipSource(Path path, Globs globs) {
        this.path = path;
        this.globs = globs;
        try {
            this.zip = new ZipFile(path.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open zip corpus " + path + " (not a readable zip archive?): "
                    + e.getMessage(), e);
        }
        List<DocumentInfo> list = new ArrayList<>();
        Enumeration<? extends ZipEntry> en = zip.entries();
        while (en.hasMoreElements()) {
            ZipEntry e = en.nextElement();
            if (e.isDirectory()) continue;
            String id = e.getName();
            if (!globs.matches(id)) continue;
            if (byId.putIfAbsent(id, e) != null) continue;
            list.add(new DocumentInfo(id, e.getSize(), e.getCrc()));
        }
        list.sort(Comparator.comparing(DocumentInfo::id));
        if (list.isEmpty()) {
            close();
            throw new IllegalArgumentException("no entries of zip " + path + " matched the globs (" + globs + ")");
        }
        this.entries = List.copyOf(list);
    }

    @Override
    public String description() {
        return "zip " + path + " (" + globs + ")";
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
        ZipEntry e = byId.get(info.id());
        if (e == null) throw new IllegalArgumentException("no entry " + info.id() + " in " + path);
        try (InputStream in = zip.getInputStream(e)) {
            return new Document(info.id(), in.readAllBytes());
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot read entry " + info.id() + " of zip " + path + ": " + ex, ex);
        }
    }

    @Override
    public void close() {
        try {
            zip.close();
        } catch (IOException ignored) {
            // nothing to do: the archive was only read
        }
    }
}
