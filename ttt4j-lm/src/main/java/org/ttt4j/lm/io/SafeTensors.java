package org.ttt4j.lm.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedMap;
import java.util.function.Predicate;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Shapes;
import org.ttt4j.core.tensor.Storage;
import org.ttt4j.core.tensor.Tensor;

/**
 * The Hugging Face <a href="https://github.com/huggingface/safetensors">safetensors</a> format:
 * an 8-byte little-endian header length N, N bytes of JSON header
 * {@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"key": "value"}}}, then the data buffer (offsets are relative to its start).
 * It is our checkpoint format because it is trivially safe to load (no code execution, unlike
 * pickles), language-neutral, and what every Hugging Face model ships in.
 *
 * <p><b>Reading</b> trusts nothing in the file. The header is validated completely before any data
 * is touched or any tensor array allocated, so a corrupt or hostile file fails fast with a
 * {@link FormatException} naming the file and the problem instead of an OutOfMemoryError or
 * silently wrong weights. The checks follow the reference implementation: known dtype, integer
 * non-negative dims, no overflow, {@code begin <= end <= buffer length}, byte length equal to
 * shape times dtype size, no duplicate names, and tensors tiling the data buffer exactly (no
 * overlaps, no uncovered bytes). The data is memory-mapped as a {@link MemorySegment} (no 2 GiB
 * limit, unmapped deterministically when the read ends) and copied into heap arrays, since
 * {@link Tensor} is array-backed. F32 and F64 load as FP32 and FP64; F16 and BF16 (common in Hugging
 * Face checkpoints) are widened to FP32. Other dtypes are listed by {@link #readHeader} but cannot
 * be loaded.
 *
 * <p><b>Writing</b> produces F32/F64 tensors (F16 for FP32 ones with {@link #writeHalf}) in the
 * given order, contiguous, with the header padded with spaces to a multiple of 8 bytes so the
 * data buffer starts 8-byte aligned (tensors are then aligned to their element size as long as
 * no F64 follows an odd-sized F32; the format forbids padding between tensors, and the reader
 * does not need alignment). The file is written through {@link AtomicFiles}, so a crash never
 * leaves a partial file under the final name.
 */
public final class SafeTensors {
    /** Largest header accepted, as in the reference implementation. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    /** The reserved header key for string metadata. */
    public static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK_BYTES = 1 << 16;
    /** Most dimensions a shape may have (NumPy's limit). */
    private static final int MAX_RANK = 64;

    private SafeTensors() {}

    /** The dtypes of the format that have a whole number of bytes per element. */
    public enum DataType {
        BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), I16(2), U16(2), F16(2), BF16(2),
        I32(4), U32(4), F32(4), I64(8), U64(8), F64(8);

        private final int bytes;

        DataType(int bytes) {
            this.bytes = bytes;
        }

        public int bytes() {
            return bytes;
        }

        /** Whether {@link #read} can load it (into FP32, or FP64 for F64). */
        public boolean loadable() {
            return this == F32 || this == F64 || this == F16 || this == BF16;
        }

        static DataType parse(String s) {
            for (DataType t : values()) if (t.name().equals(s)) return t;
            return null;
        }

        static DataType of(DType d) {
            return switch (d) {
                case FP32 -> F32;
                case FP64 -> F64;
            };
        }
    }

    /** A file that is not a well-formed safetensors file, or one ttt4j cannot load. */
    public static final class FormatException extends IOException {
        private static final long serialVersionUID = 1L;

        FormatException(Path file, String problem) {
            super(file + ": " + problem);
        }
    }

    /**
     * One header entry. {@code begin} and {@code end} are byte offsets into the data buffer.
     *
     * @param shape dims; the accessor returns the array itself, do not modify it
     */
    public record TensorInfo(String name, DataType dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d; // validated not to overflow
            return n;
        }

        public long byteSize() {
            return end - begin;
        }

        /** The shape as ints, for matching against a model's parameters; throws if a dim exceeds int. */
        public int[] intShape() {
            int[] s = new int[shape.length];
            for (int i = 0; i < s.length; i++) s[i] = Math.toIntExact(shape[i]);
            return s;
        }

        @Override public boolean equals(Object o) {
            return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                    && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
        }

        @Override public int hashCode() {
            return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
        }

        @Override public String toString() {
            return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
        }
    }

    /**
     * A validated header.
     *
     * @param dataStart file offset of the data buffer (8 + header length)
     * @param dataSize length of the data buffer in bytes
     * @param tensors entries in data order (by offset), unmodifiable
     * @param metadata the {@code __metadata__} map (empty if absent), unmodifiable
     */
    public record Header(Path file, long dataStart, long dataSize,
                         SequencedMap<String, TensorInfo> tensors, Map<String, String> metadata) {}

    /** Loaded tensors in data order (for files written here, the order given to write) and metadata. */
    public record Contents(SequencedMap<String, Tensor> tensors, Map<String, String> metadata) {}

    // ---- reading ---------------------------------------------------------------------------

    /** Reads and validates the header only: names, dtypes, shapes and sizes without loading data. */
    public static Header readHeader(Path file) throws IOException {
        AtomicFiles.requireRegularFile(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(file, ch);
        }
    }

    /** Loads every tensor of a file; see the class comment for what is validated. */
    public static Contents read(Path file) throws IOException {
        return read(file, name -> true);
    }

    /**
     * Loads the tensors whose names {@code which} accepts (the whole file is still validated):
     * lets a caller take a few tensors out of a large checkpoint without reading the rest.
     */
    public static Contents read(Path file, Predicate<String> which) throws IOException {
        AtomicFiles.requireRegularFile(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
             Arena arena = Arena.ofConfined()) {
            Header h = readHeader(file, ch);
            List<TensorInfo> selected = new ArrayList<>();
            for (TensorInfo t : h.tensors().values()) {
                if (!which.test(t.name())) continue;
                if (!t.dtype().loadable()) {
                    throw new FormatException(file, "tensor '" + t.name() + "' has dtype " + t.dtype()
                            + ", which cannot be loaded (supported: F32, F64, F16, BF16)");
                }
                if (t.numel() > Shapes.MAX_SIZE) {
                    throw new FormatException(file, "tensor '" + t.name() + "' of shape "
                            + Arrays.toString(t.shape()) + " has " + t.numel()
                            + " elements, more than a Java array can hold (" + Shapes.MAX_SIZE + ")");
                }
                selected.add(t);
            }
            MemorySegment data = h.dataSize() == 0 ? MemorySegment.NULL
                    : ch.map(FileChannel.MapMode.READ_ONLY, h.dataStart(), h.dataSize(), arena);
            SequencedMap<String, Tensor> out = new LinkedHashMap<>();
            for (TensorInfo t : selected) out.put(t.name(), load(data, t));
            return new Contents(Collections.unmodifiableSequencedMap(out), h.metadata());
        }
    }

    /**
     * Refuses tensors holding NaN or an infinity, naming {@code file}, the tensor and the first bad
     * index. The format carries any float; ttt4j's model and state files must not: their loaders
     * call this on what they read (a corrupt file would otherwise give NaN outputs with exit code
     * 0), and their writers on what they are about to write.
     */
    public static void requireFinite(Path file, Map<String, Tensor> tensors) throws FormatException {
        for (var e : tensors.entrySet()) {
            Tensor x = e.getValue();
            int bad = firstNonFinite(x);
            if (bad >= 0) {
                throw new FormatException(file, "tensor '" + e.getKey() + "' holds " + x.get(bad) + " at flat index " + bad + " of shape "
                        + Arrays.toString(x.shape()) + " (model and state files must hold finite numbers)");
            }
        }
    }

    /**
     * Model weights beyond this magnitude are refused on loading as corrupt: trained weights are
     * orders of magnitude smaller, and values this large overflow fp32 in the first products.
     */
    public static final float MAX_WEIGHT = 1e8f;

    /** {@link #requireFinite}, and every value at most {@link #MAX_WEIGHT} in magnitude (one scan): for model weights. */
    public static void requirePlausibleWeights(Path file, Map<String, Tensor> tensors) throws FormatException {
        for (var e : tensors.entrySet()) {
            Tensor x = e.getValue();
            int bad = firstBad(x, MAX_WEIGHT);
            if (bad < 0) continue;
            double v = x.get(bad);
            throw new FormatException(file, "tensor '" + e.getKey() + "' holds " + v + " at flat index " + bad + " of shape "
                    + Arrays.toString(x.shape()) + (Double.isFinite(v) ? ", beyond the " + MAX_WEIGHT + " a weight can plausibly hold"
                    : " (model and state files must hold finite numbers)"));
        }
    }

    /** Index of the first NaN or infinity of {@code x} in row-major order, or -1. */
    private static int firstNonFinite(Tensor x) {
        return firstBad(x, Float.MAX_VALUE);
    }

    /** Index of the first NaN or value beyond {@code limit} in magnitude (infinities included), or -1. */
    private static int firstBad(Tensor x, float limit) {
        if (x.dtype() == DType.FP32) return org.ttt4j.core.kernel.FiniteCheck.firstBad(x.f32(), x.offset(), x.size(), limit);
        for (int i = 0; i < x.size(); i++) if (!(Math.abs(x.get(i)) <= limit)) return i;
        return -1;
    }

    private static Tensor load(MemorySegment data, TensorInfo t) {
        int n = (int) t.numel();
        int[] shape = t.intShape();
        long base = t.begin();
        return switch (t.dtype()) {
            case F32 -> {
                float[] a = new float[n];
                MemorySegment.copy(data, F32_LE, base, a, 0, n);
                yield Tensor.wrap(new Storage.F32(a), 0, shape);
            }
            case F64 -> {
                double[] a = new double[n];
                MemorySegment.copy(data, F64_LE, base, a, 0, n);
                yield Tensor.wrap(new Storage.F64(a), 0, shape);
            }
            case F16, BF16 -> {
                float[] a = new float[n];
                short[] buf = new short[Math.min(n, CHUNK_BYTES / 2)];
                boolean bf16 = t.dtype() == DataType.BF16;
                for (int i = 0; i < n; i += buf.length) {
                    int m = Math.min(buf.length, n - i);
                    MemorySegment.copy(data, I16_LE, base + 2L * i, buf, 0, m);
                    for (int j = 0; j < m; j++) {
                        a[i + j] = bf16 ? Float.intBitsToFloat(buf[j] << 16) : Float.float16ToFloat(buf[j]);
                    }
                }
                yield Tensor.wrap(new Storage.F32(a), 0, shape);
            }
            default -> throw new IllegalStateException("unloadable dtype " + t.dtype()); // checked before
        };
    }

    private static Header readHeader(Path file, FileChannel ch) throws IOException {
        long fileSize = ch.size();
        if (fileSize < 8) {
            throw new FormatException(file, "file is " + fileSize
                    + " bytes, shorter than the 8-byte header length prefix");
        }
        ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(file, ch, prefix, 0);
        long n = prefix.getLong(0);
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new FormatException(file, "header length " + Long.toUnsignedString(n)
                    + " is absurd (limit " + MAX_HEADER_BYTES + " bytes)");
        }
        if (n > fileSize - 8) {
            throw new FormatException(file, "header length " + n + " exceeds the " + (fileSize - 8)
                    + " bytes after the length prefix (truncated file?)");
        }
        ByteBuffer json = ByteBuffer.allocate((int) n);
        readFully(file, ch, json, 8);
        long dataStart = 8 + n;
        long dataSize = fileSize - dataStart;

        Map<String, String> metadata = Map.of();
        List<TensorInfo> entries = new ArrayList<>();
        JsonParser p = MAPPER.createParser(json.array());
        try (p) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new FormatException(file, "header is not a JSON object");
            }
            JsonToken tok;
            while ((tok = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (METADATA_KEY.equals(name)) {
                    metadata = parseMetadata(file, p);
                } else {
                    entries.add(parseEntry(file, name, entryFields(file, name, p), dataSize));
                }
            }
            if (tok != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new FormatException(file, "header is not valid JSON: content after the top-level object");
            }
        } catch (JacksonException e) {
            // The parser rejects duplicate keys at every level; at the top level they are tensor names.
            JsonStreamContext ctx = p.getParsingContext();
            String msg = e.getOriginalMessage();
            if (msg != null && msg.startsWith("Duplicate") && ctx != null && ctx.getParent() != null
                    && ctx.getParent().inRoot()) {
                throw new FormatException(file, "duplicate tensor name '" + ctx.getCurrentName() + "' in header");
            }
            throw new FormatException(file, "header is not valid JSON: " + msg);
        }
        return new Header(file, dataStart, dataSize, checkTiling(file, entries, dataSize), metadata);
    }

    // The header is parsed as a stream and only the fields we use are materialised, with bounded
    // sizes: a hostile 100 MB header of nested arrays or giant shapes cannot blow up into a JSON tree.

    private static Map<String, String> parseMetadata(Path file, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new FormatException(file, METADATA_KEY + " is not a JSON object");
        }
        Map<String, String> m = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw new FormatException(file, METADATA_KEY + " value of '" + key + "' is not a string");
            }
            m.put(key, p.getText());
        }
        return Collections.unmodifiableMap(m);
    }

    /** Reads one tensor entry object, keeping dtype, shape and data_offsets and skipping the rest. */
    private static ObjectNode entryFields(Path file, String name, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new FormatException(file, "tensor '" + name + "' is not a JSON object");
        }
        ObjectNode v = MAPPER.createObjectNode();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            p.nextToken();
            switch (key) {
                case "dtype" -> v.set(key, bounded(file, p, 0, null));
                case "shape" -> v.set(key, bounded(file, p, MAX_RANK,
                        "tensor '" + name + "' has a shape of more than " + MAX_RANK + " dimensions"));
                case "data_offsets" -> v.set(key, bounded(file, p, 2,
                        "tensor '" + name + "' data_offsets is not a [begin, end] pair (more than 2 values)"));
                default -> p.skipChildren();
            }
        }
        return v;
    }

    /**
     * The current value as a node: a scalar as is, an array as up to {@code max} elements (nested
     * containers replaced by a "[...]"/"{...}" stand-in, more elements rejected with {@code tooLong}),
     * an object, or an array where none is expected ({@code max == 0}), as an empty stand-in.
     */
    private static JsonNode bounded(Path file, JsonParser p, int max, String tooLong) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.START_OBJECT || (t == JsonToken.START_ARRAY && max == 0)) {
            p.skipChildren();
            return t == JsonToken.START_OBJECT ? MAPPER.createObjectNode() : MAPPER.createArrayNode();
        }
        if (t != JsonToken.START_ARRAY) return MAPPER.readTree(p);
        ArrayNode a = MAPPER.createArrayNode();
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (a.size() == max) throw new FormatException(file, tooLong);
            if (t == JsonToken.START_ARRAY || t == JsonToken.START_OBJECT) {
                p.skipChildren();
                a.add(t == JsonToken.START_ARRAY ? "[...]" : "{...}");
            } else {
                a.add(MAPPER.<JsonNode>readTree(p));
            }
        }
        return a;
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode v, long dataSize) throws FormatException {
        String what = "tensor '" + name + "'";
        JsonNode dt = v.get("dtype");
        JsonNode sh = v.get("shape");
        JsonNode off = v.get("data_offsets");
        if (dt == null) throw new FormatException(file, what + " is missing dtype");
        if (sh == null) throw new FormatException(file, what + " is missing shape");
        if (off == null) throw new FormatException(file, what + " is missing data_offsets");
        if (!dt.isTextual()) throw new FormatException(file, what + " has a dtype that is not a string: " + dt);
        DataType dtype = DataType.parse(dt.textValue());
        if (dtype == null) throw new FormatException(file, what + " has unknown dtype '" + dt.textValue() + "'");
        if (!sh.isArray()) throw new FormatException(file, what + " has a shape that is not an array: " + sh);
        long[] shape = new long[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong()) {
                throw new FormatException(file, what + " has non-integer dimension " + d + " in shape " + sh);
            }
            shape[i] = d.longValue();
            if (shape[i] < 0) throw new FormatException(file, what + " has negative dimension " + d + " in shape " + sh);
        }
        long bytes;
        try {
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            bytes = Math.multiplyExact(numel, dtype.bytes());
        } catch (ArithmeticException e) {
            throw new FormatException(file, what + " element count of shape " + sh + " overflows");
        }
        if (!off.isArray() || off.size() != 2) {
            throw new FormatException(file, what + " data_offsets " + off + " is not a [begin, end] pair");
        }
        long[] be = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode o = off.get(i);
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                throw new FormatException(file, what + " data_offsets " + off + " holds a non-integer or negative offset");
            }
            be[i] = o.longValue();
        }
        if (be[0] > be[1]) {
            throw new FormatException(file, what + " data_offsets " + off + " has begin > end");
        }
        if (be[1] > dataSize) {
            throw new FormatException(file, what + " data_offsets " + off + " end beyond the data buffer of "
                    + dataSize + " bytes (truncated file?)");
        }
        if (be[1] - be[0] != bytes) {
            throw new FormatException(file, what + " data_offsets " + off + " span " + (be[1] - be[0])
                    + " bytes but shape " + sh + " of " + dtype + " needs " + bytes);
        }
        return new TensorInfo(name, dtype, shape, be[0], be[1]);
    }

    /** Orders entries by offset and checks that they tile [0, dataSize) with no overlap and no gap. */
    private static SequencedMap<String, TensorInfo> checkTiling(Path file, List<TensorInfo> entries, long dataSize)
            throws FormatException {
        List<TensorInfo> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end)); // stable
        long pos = 0;
        TensorInfo prev = null;
        SequencedMap<String, TensorInfo> out = new LinkedHashMap<>();
        for (TensorInfo t : sorted) {
            if (t.begin() < pos) {
                throw new FormatException(file, "tensor '" + t.name() + "' " + offsets(t) + " overlaps tensor '"
                        + prev.name() + "' " + offsets(prev));
            }
            if (t.begin() > pos) {
                throw new FormatException(file, "bytes [" + pos + ", " + t.begin()
                        + ") of the data buffer are not covered by any tensor");
            }
            pos = t.end();
            prev = t;
            out.put(t.name(), t);
        }
        if (pos != dataSize) {
            throw new FormatException(file, "bytes [" + pos + ", " + dataSize
                    + ") at the end of the data buffer are not covered by any tensor");
        }
        return Collections.unmodifiableSequencedMap(out);
    }

    private static String offsets(TensorInfo t) {
        return "[" + t.begin() + ", " + t.end() + "]";
    }

    private static void readFully(Path file, FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) throw new FormatException(file, "file ended while reading the header (truncated?)");
            pos += r;
        }
    }

    // ---- writing ---------------------------------------------------------------------------

    /**
     * Atomically writes {@code tensors} (in iteration order) and {@code metadata} (may be null) to
     * {@code file}. FP32 tensors are stored as F32 and FP64 as F64, little-endian.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        write(file, tensors, metadata, false);
    }

    /**
     * As {@link #write(Path, Map, Map)} but FP32 tensors are stored as F16 (IEEE half, rounded to
     * nearest even; values beyond +-65504 are refused): half the bytes, for shipping trained weights,
     * which need no more than the 11 significant bits. They load back as FP32.
     */
    public static void writeHalf(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        write(file, tensors, metadata, true);
    }

    private static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata, boolean half) throws IOException {
        ObjectNode header = MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            // Sorted by key: the same metadata gives the same bytes whatever map the caller built it in.
            ObjectNode m = header.putObject(METADATA_KEY);
            Map<String, String> sorted = new java.util.TreeMap<>();
            metadata.forEach((k, v) -> sorted.put(Objects.requireNonNull(k, "metadata key"),
                    Objects.requireNonNull(v, () -> "metadata value of '" + k + "'")));
            sorted.forEach(m::put);
        }
        List<Tensor> order = new ArrayList<>(tensors.size());
        long pos = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = Objects.requireNonNull(e.getKey(), "tensor name");
            Tensor t = Objects.requireNonNull(e.getValue(), () -> "tensor '" + name + "'");
            if (name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException("tensor name '" + METADATA_KEY + "' is reserved for metadata");
            }
            DataType dt = half && t.dtype() == DType.FP32 ? DataType.F16 : DataType.of(t.dtype());
            if (dt == DataType.F16) {
                for (float v : t.toFloatArray()) {
                    if (Float.isFinite(v) && Math.abs(v) > 65504f) {
                        throw new IllegalArgumentException("tensor '" + name + "' holds " + v + ", beyond the F16 range (+-65504)");
                    }
                }
            }
            long bytes = (long) t.size() * dt.bytes();
            ObjectNode entry = header.putObject(name);
            entry.put("dtype", dt.name());
            ArrayNode shape = entry.putArray("shape");
            for (int d : t.shape()) shape.add(d);
            entry.putArray("data_offsets").add(pos).add(pos + bytes);
            pos += bytes;
            order.add(t);
        }
        byte[] json = MAPPER.writeValueAsBytes(header);
        int padded = (json.length + 7) & ~7;
        if (padded > MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("safetensors header of " + padded + " bytes exceeds the "
                    + MAX_HEADER_BYTES + "-byte limit readers enforce (too many tensors or too much metadata)");
        }
        byte[] head = new byte[8 + padded];
        ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(json);
        Arrays.fill(head, 8 + json.length, head.length, (byte) ' ');
        AtomicFiles.write(file, out -> {
            out.write(head);
            byte[] chunk = new byte[CHUNK_BYTES];
            for (Tensor t : order) {
                if (half && t.dtype() == DType.FP32) writeHalfData(out, t, chunk);
                else writeData(out, t, chunk);
            }
        });
    }

    private static void writeHalfData(OutputStream out, Tensor t, byte[] chunk) throws IOException {
        float[] a = t.toFloatArray();
        for (int i = 0; i < a.length; i += chunk.length / 2) {
            int m = Math.min(chunk.length / 2, a.length - i);
            for (int j = 0; j < m; j++) {
                short h = Float.floatToFloat16(a[i + j]);
                chunk[2 * j] = (byte) h;
                chunk[2 * j + 1] = (byte) (h >> 8);
            }
            out.write(chunk, 0, 2 * m);
        }
    }

    private static void writeData(OutputStream out, Tensor t, byte[] chunk) throws IOException {
        MemorySegment seg = MemorySegment.ofArray(chunk);
        int n = t.size();
        int off = t.offset();
        switch (t.storage()) {
            case Storage.F32(float[] a) -> {
                int per = chunk.length / 4;
                for (int i = 0; i < n; i += per) {
                    int m = Math.min(per, n - i);
                    MemorySegment.copy(a, off + i, seg, F32_LE, 0, m);
                    out.write(chunk, 0, 4 * m);
                }
            }
            case Storage.F64(double[] a) -> {
                int per = chunk.length / 8;
                for (int i = 0; i < n; i += per) {
                    int m = Math.min(per, n - i);
                    MemorySegment.copy(a, off + i, seg, F64_LE, 0, m);
                    out.write(chunk, 0, 8 * m);
                }
            }
        }
    }

}
