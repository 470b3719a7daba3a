package org.ttt4j.lm.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Small JSON documents (run configuration, training progress, checkpoint manifests) saved
 * atomically through {@link AtomicFiles}, so a crash leaves either the previous or the new
 * document, never a truncated one. Records and plain beans both work. Reading is strict: unknown
 * properties, trailing content and an empty or {@code null} document are reported as a corrupt
 * file, naming it, rather than yielding a half-filled object.
 */
public final class StateFile {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    private StateFile() {}

    /** Atomically writes {@code value} as indented JSON. */
    public static void write(Path file, Object value) throws IOException {
        Objects.requireNonNull(value, "value");
        byte[] json;
        try {
            json = MAPPER.writeValueAsBytes(value);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("cannot serialise " + value.getClass().getName()
                    + " to JSON for " + file + ": " + e.getOriginalMessage(), e);
        }
        AtomicFiles.write(file, json);
    }

    /**
     * Reads a document written by {@link #write}.
     *
     * @throws NoSuchFileException if the file does not exist
     * @throws IOException naming the file if it is empty, not valid JSON, or does not match {@code type}
     */
    public static <T> T read(Path file, Class<T> type) throws IOException {
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString(), null, "state file does not exist");
        AtomicFiles.requireRegularFile(file);
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length == 0) throw new IOException(file + ": state file is empty (corrupt)");
        T value;
        try {
            value = MAPPER.readValue(bytes, type);
        } catch (JacksonException e) {
            String field = e instanceof com.fasterxml.jackson.databind.JsonMappingException d ? fieldPath(d) : "";
            String expected = e instanceof com.fasterxml.jackson.databind.exc.MismatchedInputException m && m.getTargetType() != null
                    ? " (expected " + m.getTargetType().getSimpleName() + ")" : "";
            throw new IOException(file + ": corrupt state file, not a valid " + type.getSimpleName() + " document"
                    + (field.isEmpty() ? "" : ": field '" + field + "'" + expected) + ": " + e.getOriginalMessage(), e);
        }
        if (value == null) throw new IOException(file + ": state file holds null, not a " + type.getSimpleName());
        return value;
    }

    /** The JSON path of the value a mapping failed on, e.g. {@code e2e.chunk} or {@code results[3].label}. */
    private static String fieldPath(com.fasterxml.jackson.databind.JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (var ref : e.getPath()) {
            if (ref.getFieldName() != null) sb.append(sb.isEmpty() ? "" : ".").append(ref.getFieldName());
            else if (ref.getIndex() >= 0) sb.append('[').append(ref.getIndex()).append(']');
        }
        return sb.toString();
    }
}
