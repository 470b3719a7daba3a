package org.ttt4j.lm.data;

import java.util.Objects;

/**
 * One whole document of a corpus: its id (a relative path with '/' separators, unique within its
 * source) and its raw bytes (normally UTF-8). Documents are never cut: splitting and sharding work
 * on whole documents so that long-range structure survives.
 */
public record Document(String id, byte[] content) {
    public Document {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(content, "content");
    }
}
