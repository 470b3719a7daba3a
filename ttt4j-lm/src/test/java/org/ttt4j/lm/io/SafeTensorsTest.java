package org.ttt4j.lm.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Storage;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.io.SafeTensors.DataType;
import org.ttt4j.lm.io.SafeTensors.FormatException;

class SafeTensorsTest {
    @TempDir Path dir;
    private int fileCounter;

    // ---- helpers ---------------------------------------------------------------------------

    /** A file from a header (single quotes stand for double quotes) and a data buffer, no padding. */
    private static byte[] craft(String json, byte[] data) {
        byte[] h = json.replace('\'', '"').getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length).put(h).put(data).array();
    }

    private static byte[] craft(String json, int dataBytes) {
        return craft(json, new byte[dataBytes]);
    }

    private Path put(byte[] bytes) throws IOException {
        Path f = dir.resolve("f" + (fileCounter++) + ".safetensors");
        Files.write(f, bytes);
        return f;
    }

    /** Both readHeader and read must fail with a FormatException naming the file and the problem. */
    private void assertBad(byte[] bytes, String... words) throws IOException {
        Path f = put(bytes);
        for (int pass = 0; pass < 2; pass++) {
            final boolean header = pass == 0;
            FormatException e = assertThrows(FormatException.class,
                    () -> { if (header) SafeTensors.readHeader(f); else SafeTensors.read(f); });
            assertTrue(e.getMessage().contains(f.toString()), "names the file: " + e.getMessage());
            for (String w : words) assertTrue(e.getMessage().contains(w), "mentions '" + w + "': " + e.getMessage());
        }
    }

    private static Tensor random(SplittableRandom rng, DType dtype, int[] shape) {
        return Tensor.randn(dtype, rng, 1.0, shape);
    }

    private static void assertSameTensor(Tensor want, Tensor got) {
        assertArrayEquals(want.shape(), got.shape());
        assertEquals(want.dtype(), got.dtype());
        if (want.dtype() == DType.FP32) {
            float[] a = want.toFloatArray(), b = got.toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]), "element " + i);
            }
        } else {
            double[] a = want.toDoubleArray(), b = got.toDoubleArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(Double.doubleToRawLongBits(a[i]), Double.doubleToRawLongBits(b[i]), "element " + i);
            }
        }
    }

    private Map<String, Tensor> sample(SplittableRandom rng) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("embed.weight", random(rng, DType.FP32, new int[] {5, 3}));
        m.put("scalar", Tensor.scalar(DType.FP32, 0.25));
        m.put("empty", Tensor.zeros(DType.FP32, 0, 4));
        m.put("head.bias", random(rng, DType.FP64, new int[] {3}));
        m.put("block.0.w", random(rng, DType.FP32, new int[] {2, 2, 2}));
        return m;
    }

    // ---- round trips -----------------------------------------------------------------------

    @Test
    void roundTripsRandomShapesDtypesAndMetadata() throws IOException {
        SplittableRandom rng = new SplittableRandom(42);
        for (int trial = 0; trial < 30; trial++) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            int count = rng.nextInt(0, 8);
            for (int i = 0; i < count; i++) {
                int rank = rng.nextInt(0, 5);
                int[] shape = new int[rank];
                for (int d = 0; d < rank; d++) shape[d] = rng.nextInt(10) == 0 ? 0 : rng.nextInt(1, 6);
                DType dt = rng.nextBoolean() ? DType.FP32 : DType.FP64;
                tensors.put("t" + rng.nextInt(1000) + "." + i, random(rng, dt, shape));
            }
            Map<String, String> meta = trial % 3 == 0 ? null
                    : Map.of("format", "pt", "step", Integer.toString(trial), "üñí", "\"quoted\"\n");
            Path f = dir.resolve("rt" + trial + ".safetensors");
            SafeTensors.write(f, tensors, meta);

            byte[] raw = Files.readAllBytes(f);
            long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertEquals(0, n % 8, "header padded to a multiple of 8");
            assertEquals(0, (8 + n) % 8, "data buffer 8-byte aligned");

            SafeTensors.Contents c = SafeTensors.read(f);
            assertEquals(List.copyOf(tensors.keySet()), List.copyOf(c.tensors().keySet()), "order kept");
            for (var e : tensors.entrySet()) assertSameTensor(e.getValue(), c.tensors().get(e.getKey()));
            assertEquals(meta == null ? Map.of() : meta, c.metadata());

            SafeTensors.Header h = SafeTensors.readHeader(f);
            assertEquals(List.copyOf(tensors.keySet()), List.copyOf(h.tensors().keySet()));
            long total = 0;
            for (var e : tensors.entrySet()) {
                SafeTensors.TensorInfo info = h.tensors().get(e.getKey());
                assertArrayEquals(e.getValue().shape(), info.intShape());
                assertEquals(e.getValue().dtype() == DType.FP32 ? DataType.F32 : DataType.F64, info.dtype());
                assertEquals(e.getValue().size(), info.numel());
                assertEquals(total, info.begin(), "contiguous in the given order");
                total += info.byteSize();
            }
            assertEquals(total, h.dataSize());
            assertEquals(raw.length, h.dataStart() + h.dataSize());
        }
    }

    @Test
    void writesViewsAndReadsSubsets() throws IOException {
        Tensor big = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 4, 2);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("rows", big.rows(1, 3)); // a view at offset 2
        m.put("other", Tensor.of(new double[] {9, 10}, 2));
        Path f = dir.resolve("v.safetensors");
        SafeTensors.write(f, m, Map.of());
        SafeTensors.Contents c = SafeTensors.read(f, "rows"::equals);
        assertEquals(List.of("rows"), List.copyOf(c.tensors().keySet()));
        assertArrayEquals(new float[] {3, 4, 5, 6}, c.tensors().get("rows").toFloatArray());
        assertArrayEquals(new int[] {2, 2}, c.tensors().get("rows").shape());
    }

    @Test
    void halfPrecisionStoresRoundedFloatsInHalfTheBytes(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        var rng = new java.util.SplittableRandom(8);
        float[] a = new float[1001];
        for (int i = 0; i < a.length; i++) a[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(-6, 4)));
        Tensor t = Tensor.of(a, 7, 143);
        Path full = dir.resolve("f.safetensors"), half = dir.resolve("h.safetensors");
        SafeTensors.write(full, java.util.Map.of("w", t), null);
        SafeTensors.writeHalf(half, java.util.Map.of("w", t), java.util.Map.of("k", "v"));
        assertEquals(2 * a.length, Files.size(full) - Files.size(half), 64, "F16 takes 2 bytes per value instead of 4 (headers differ by the metadata)");
        var back = SafeTensors.read(half);
        assertEquals("F16", SafeTensors.readHeader(half).tensors().get("w").dtype().name());
        float[] got = back.tensors().get("w").toFloatArray();
        assertArrayEquals(new int[] {7, 143}, back.tensors().get("w").shape());
        for (int i = 0; i < a.length; i++) assertEquals(Float.float16ToFloat(Float.floatToFloat16(a[i])), got[i], 0f, "value " + i);
        var e = assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.writeHalf(dir.resolve("x.safetensors"), java.util.Map.of("big", Tensor.of(new float[] {1e5f}, 1)), null));
        assertTrue(e.getMessage().contains("big") && e.getMessage().contains("F16"), e.getMessage());
    }

    @Test
    void floatValuesAreBitExact() throws IOException {
        int[] fbits = {0x7fc00000, 0x7fc00001, 0x7f800001, 0x7fbfffff, 0xffc12345, 0xff800001,
                0x7f800000, 0xff800000, 0x80000000, 0x00000000, 0x00000001, 0x807fffff, 0x7f7fffff};
        float[] f = new float[fbits.length];
        for (int i = 0; i < f.length; i++) f[i] = Float.intBitsToFloat(fbits[i]);
        long[] dbits = {0x7ff8000000000000L, 0x7ff8000000000001L, 0x7ff0000000000001L, 0xfff0deadbeef0001L,
                0x7ff0000000000000L, 0xfff0000000000000L, 0x8000000000000000L, 0x1L, 0x7fefffffffffffffL};
        double[] d = new double[dbits.length];
        for (int i = 0; i < d.length; i++) d[i] = Double.longBitsToDouble(dbits[i]);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("f", Tensor.wrap(new Storage.F32(f), 0, f.length));
        m.put("d", Tensor.wrap(new Storage.F64(d), 0, d.length));
        Path p = dir.resolve("bits.safetensors");
        SafeTensors.write(p, m, null);
        SafeTensors.Contents c = SafeTensors.read(p);
        float[] gf = c.tensors().get("f").f32();
        for (int i = 0; i < f.length; i++) assertEquals(fbits[i], Float.floatToRawIntBits(gf[i]), "float " + i);
        double[] gd = c.tensors().get("d").toDoubleArray();
        for (int i = 0; i < d.length; i++) assertEquals(dbits[i], Double.doubleToRawLongBits(gd[i]), "double " + i);

        // And on disk: little-endian IEEE bits right after the header.
        byte[] raw = Files.readAllBytes(p);
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int start = (int) (8 + b.getLong(0));
        assertEquals(fbits[1], b.getInt(start + 4));
        assertEquals(dbits[3], b.getLong(start + 4 * f.length + 8 * 3));
    }

    @Test
    void readsHalfPrecisionAsFloat() throws IOException {
        float[] values = {1.5f, -2.0f, 0.0f, -0.0f, 65504f, 6.1035156e-5f, Float.POSITIVE_INFINITY, 1e-7f};
        ByteBuffer data = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) data.putShort(Float.floatToFloat16(v));
        for (float v : values) data.putShort((short) (Float.floatToRawIntBits(v) >>> 16)); // exact for these in BF16
        int n = 2 * values.length;
        byte[] bytes = craft("{'h':{'dtype':'F16','shape':[2,4],'data_offsets':[0," + n + "]},"
                + "'b':{'dtype':'BF16','shape':[8],'data_offsets':[" + n + "," + 2 * n + "]}}", data.array());
        SafeTensors.Contents c = SafeTensors.read(put(bytes));
        Tensor h = c.tensors().get("h");
        assertEquals(DType.FP32, h.dtype());
        assertArrayEquals(new int[] {2, 4}, h.shape());
        float[] gh = h.toFloatArray();
        for (int i = 0; i < values.length; i++) {
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(values[i])), gh[i], "f16 " + i);
        }
        float[] gb = c.tensors().get("b").toFloatArray();
        for (int i = 0; i < values.length; i++) {
            assertEquals(Float.intBitsToFloat(Float.floatToRawIntBits(values[i]) & 0xffff0000), gb[i], "bf16 " + i);
        }
        assertEquals(1.5f, gh[0]);
        assertEquals(1.5f, gb[0]);
    }

    @Test
    void otherDtypesAreListedButNotLoaded() throws IOException {
        Path f = put(craft("{'ids':{'dtype':'I64','shape':[2],'data_offsets':[0,16]},"
                + "'w':{'dtype':'F32','shape':[1],'data_offsets':[16,20]}}", 20));
        SafeTensors.Header h = SafeTensors.readHeader(f);
        assertEquals(DataType.I64, h.tensors().get("ids").dtype());
        FormatException e = assertThrows(FormatException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("'ids'") && e.getMessage().contains("I64"), e.getMessage());
        assertEquals(List.of("w"), List.copyOf(SafeTensors.read(f, n -> !n.equals("ids")).tensors().keySet()));
    }

    @Test
    void writerRejectsReservedName() {
        Map<String, Tensor> m = Map.of(SafeTensors.METADATA_KEY, Tensor.zeros(1));
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(dir.resolve("x"), m, null));
    }

    // ---- crafted bad files: one per validation ---------------------------------------------

    @Test
    void fileShorterThanEightBytes() throws IOException {
        assertBad(new byte[0], "shorter than the 8-byte");
        assertBad(new byte[7], "7 bytes");
    }

    @Test
    void absurdHeaderLength() throws IOException {
        byte[] b = craft("{}", 0);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1000);
        assertBad(b, "header length 1000", "exceeds");
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 200_000_000L);
        assertBad(b, "header length 200000000", "absurd");
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
        assertBad(b, "header length 18446744073709551615", "absurd");
    }

    @Test
    void headerNotJsonOrNotObject() throws IOException {
        assertBad(craft("{'a': ", 0), "not valid JSON");
        assertBad(craft("[1, 2]", 0), "not a JSON object");
        assertBad(craft("", 0), "not a JSON object");
        assertBad(craft("{} {}", 0), "not valid JSON");
        assertBad(craft("{}\0\0\0\0", 0), "not valid JSON");
        byte[] badUtf8 = craft("{'\u00e9':{}}", 0);
        badUtf8[11] = (byte) 0xC3; // lone lead byte followed by an ASCII quote
        badUtf8[12] = (byte) '"';
        assertBad(badUtf8, "not valid JSON");
        assertBad(craft("{'a': 5}", 0), "tensor 'a'", "not a JSON object");
    }

    @Test
    void emptyHeaderObjectIsAValidEmptyFile() throws IOException {
        Path f = put(craft("{}      ", 0));
        assertEquals(0, SafeTensors.read(f).tensors().size());
    }

    @Test
    void entryMissingFields() throws IOException {
        assertBad(craft("{'a':{'shape':[1],'data_offsets':[0,4]}}", 4), "'a'", "missing dtype");
        assertBad(craft("{'a':{'dtype':'F32','data_offsets':[0,4]}}", 4), "'a'", "missing shape");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1]}}", 4), "'a'", "missing data_offsets");
    }

    @Test
    void unknownDtype() throws IOException {
        assertBad(craft("{'a':{'dtype':'F33','shape':[1],'data_offsets':[0,4]}}", 4), "unknown dtype 'F33'");
        assertBad(craft("{'a':{'dtype':'f32','shape':[1],'data_offsets':[0,4]}}", 4), "unknown dtype 'f32'");
        assertBad(craft("{'a':{'dtype':4,'shape':[1],'data_offsets':[0,4]}}", 4), "dtype that is not a string");
    }

    @Test
    void badDimensions() throws IOException {
        assertBad(craft("{'a':{'dtype':'F32','shape':[-1],'data_offsets':[0,4]}}", 4), "negative dimension -1");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1.5],'data_offsets':[0,4]}}", 4), "non-integer dimension 1.5");
        assertBad(craft("{'a':{'dtype':'F32','shape':['2'],'data_offsets':[0,8]}}", 8), "non-integer dimension");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1e0],'data_offsets':[0,4]}}", 4), "non-integer dimension");
        assertBad(craft("{'a':{'dtype':'F32','shape':[99999999999999999999],'data_offsets':[0,4]}}", 4),
                "non-integer dimension");
        assertBad(craft("{'a':{'dtype':'F32','shape':3,'data_offsets':[0,12]}}", 12), "shape that is not an array");
    }

    @Test
    void hostileStructuresStayBounded() throws IOException {
        String dims65 = "1,".repeat(64) + "1";
        assertBad(craft("{'a':{'dtype':'F32','shape':[" + dims65 + "],'data_offsets':[0,4]}}", 4),
                "more than 64 dimensions");
        assertBad(craft("{'a':{'dtype':'F32','shape':[[1]],'data_offsets':[0,4]}}", 4), "non-integer dimension");
        assertBad(craft("{'a':{'dtype':['F32'],'shape':[1],'data_offsets':[0,4]}}", 4), "dtype that is not a string");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':null}}", 4), "not a [begin, end] pair");
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        assertBad(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4],'x':" + deep + "}}", 4),
                "not valid JSON");
        // Unknown fields in an entry are ignored, as in the reference implementation.
        Path ok = put(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4],'extra':{'k':[1,2]}}}", 4));
        assertEquals(1, SafeTensors.read(ok).tensors().get("a").size());
    }

    @Test
    void elementCountOverflow() throws IOException {
        assertBad(craft("{'a':{'dtype':'F32','shape':[4294967296,4294967296],'data_offsets':[0,4]}}", 4),
                "overflows");
        assertBad(craft("{'a':{'dtype':'F64','shape':[2305843009213693952],'data_offsets':[0,8]}}", 8),
                "overflows");
    }

    @Test
    void badDataOffsets() throws IOException {
        assertBad(craft("{'a':{'dtype':'F32','shape':[0],'data_offsets':[4,0]}}", 4), "begin > end");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':[0]}}", 4), "not a [begin, end] pair");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4,8]}}", 4), "not a [begin, end] pair");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':[-4,0]}}", 4), "negative offset");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4.0]}}", 4), "non-integer");
    }

    @Test
    void endBeyondDataBuffer() throws IOException {
        assertBad(craft("{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}", 7), "'a'", "beyond the data buffer of 7");
    }

    @Test
    void byteLengthDoesNotMatchShape() throws IOException {
        assertBad(craft("{'a':{'dtype':'F32','shape':[2,2],'data_offsets':[0,12]}}", 12),
                "'a'", "span 12 bytes", "needs 16");
        assertBad(craft("{'a':{'dtype':'F32','shape':[],'data_offsets':[0,0]}}", 0), "needs 4");
    }

    @Test
    void overlappingTensors() throws IOException {
        assertBad(craft("{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
                + "'b':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}", 12), "'b'", "overlaps tensor 'a'");
        assertBad(craft("{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
                + "'b':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}", 8), "overlaps");
        assertBad(craft("{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
                + "'z':{'dtype':'F32','shape':[0],'data_offsets':[4,4]}}", 8), "'z'", "overlaps");
    }

    @Test
    void duplicateNames() throws IOException {
        assertBad(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
                + "'a':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}", 8), "duplicate tensor name 'a'");
        assertBad(craft("{'a':{'dtype':'F32','dtype':'F64','shape':[1],'data_offsets':[0,4]}}", 4),
                "not valid JSON", "dtype");
    }

    @Test
    void uncoveredBytes() throws IOException {
        assertBad(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
                + "'b':{'dtype':'F32','shape':[1],'data_offsets':[8,12]}}", 12), "bytes [4, 8)", "not covered");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}", 8), "bytes [0, 4)", "not covered");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]}}", 5), "bytes [4, 5)", "not covered");
        assertBad(craft("{}", 3), "bytes [0, 3)", "not covered");
    }

    @Test
    void badMetadata() throws IOException {
        assertBad(craft("{'__metadata__':[1]}", 0), "__metadata__ is not a JSON object");
        assertBad(craft("{'__metadata__':{'k':1}}", 0), "'k'", "not a string");
        Path ok = put(craft("{'__metadata__':{'format':'pt'}}", 0));
        assertEquals(Map.of("format", "pt"), SafeTensors.readHeader(ok).metadata());
    }

    @Test
    void hostileHugeTensorFailsFast() throws IOException {
        long t0 = System.nanoTime();
        // 2^40 F32 elements = 2^42 bytes claimed, 16 bytes present.
        assertBad(craft("{'a':{'dtype':'F32','shape':[1048576,1048576],'data_offsets':[0,4398046511104]}}", 16),
                "beyond the data buffer");
        assertBad(craft("{'a':{'dtype':'F32','shape':[1048576,1048576],'data_offsets':[0,16]}}", 16),
                "needs 4398046511104");
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "must fail without touching 4 TiB");
    }

    /** A real (sparse) file whose tensor does not fit in a Java array: header fine, load refused. */
    @Test
    void tensorTooLargeForJavaArray() throws IOException {
        long elements = 1L << 31;
        String json = "{'big':{'dtype':'F16','shape':[" + elements + "],'data_offsets':[0," + 2 * elements + "]}}";
        byte[] head = craft(json, 0);
        Path f = put(head);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(head.length + 2 * elements); // sparse: no disk used
        }
        assertEquals(elements, SafeTensors.readHeader(f).tensors().get("big").numel());
        FormatException e = assertThrows(FormatException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("'big'") && e.getMessage().contains("more than a Java array"), e.getMessage());
    }

    /** Offsets beyond 2 GiB are reached through the mapping (sparse file, only the tail is loaded). */
    @Test
    void readsTensorsBeyondTwoGiB() throws IOException {
        long pad = 600_000_000L; // F32 elements: 2.4 GB
        String json = "{'pad':{'dtype':'F32','shape':[" + pad + "],'data_offsets':[0," + 4 * pad + "]},"
                + "'tail':{'dtype':'F32','shape':[2],'data_offsets':[" + 4 * pad + "," + (4 * pad + 8) + "]}}";
        byte[] head = craft(json, 0);
        Path f = put(head);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(head.length + 4 * pad + 8);
            raf.seek(head.length + 4 * pad);
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.25f).putFloat(-3f).array());
        }
        SafeTensors.Contents c = SafeTensors.read(f, "tail"::equals);
        assertArrayEquals(new float[] {1.25f, -3f}, c.tensors().get("tail").toFloatArray());
    }

    // ---- truncation and corruption ---------------------------------------------------------

    @Test
    void everyTruncationFailsCleanly() throws IOException {
        Path good = dir.resolve("good.safetensors");
        SafeTensors.write(good, sample(new SplittableRandom(1)), Map.of("k", "v"));
        byte[] bytes = Files.readAllBytes(good);
        Path f = dir.resolve("cut.safetensors");
        Files.write(f, bytes);
        // Cut from the end downwards on one open channel (rewriting the file per cut is slow on some disks).
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            for (int cut = bytes.length - 1; cut >= 0; cut--) {
                ch.truncate(cut);
                try {
                    SafeTensors.read(f);
                    fail("truncation at " + cut + " of " + bytes.length + " loaded");
                } catch (FormatException expected) {
                    assertTrue(expected.getMessage().startsWith(f.toString()), expected.getMessage());
                }
            }
        }
    }

    @Test
    void randomCorruptionNeverYieldsWrongShapesOrOom() throws IOException {
        SplittableRandom rng = new SplittableRandom(7);
        Map<String, Tensor> original = sample(rng);
        Path good = dir.resolve("good.safetensors");
        SafeTensors.write(good, original, Map.of("format", "pt"));
        byte[] bytes = Files.readAllBytes(good);
        int headerEnd = (int) (8 + ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0));
        Path f = dir.resolve("corrupt.safetensors");
        Files.write(f, bytes);
        int failures = 0, loads = 0;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) { // overwritten in place per trial
            for (int trial = 0; trial < 2000; trial++) {
                byte[] b = bytes.clone();
                boolean headerOnly = trial % 4 != 0;
                int hits = 1 + rng.nextInt(3);
                for (int k = 0; k < hits; k++) {
                    int pos = headerOnly ? rng.nextInt(headerEnd) : headerEnd + rng.nextInt(bytes.length - headerEnd);
                    b[pos] = rng.nextInt(3) == 0 ? (byte) (b[pos] ^ (1 << rng.nextInt(8))) : (byte) rng.nextInt(256);
                }
                ch.write(ByteBuffer.wrap(b), 0);
                SafeTensors.Contents c;
                try {
                    c = SafeTensors.read(f);
                } catch (FormatException e) {
                    assertTrue(headerOnly, "data-only corruption must load: " + e.getMessage());
                    failures++;
                    continue;
                }
                loads++;
                List<String> names = new ArrayList<>(c.tensors().keySet());
                assertEquals(original.size(), names.size());
                for (var e : original.entrySet()) {
                    Tensor got = c.tensors().get(e.getKey());
                    if (got == null) continue; // the corruption renamed it
                    if (e.getValue().size() > 0) assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
                    if (headerOnly) assertSameTensor(e.getValue(), got);
                }
            }
        }
        assertTrue(failures > 700 && loads > 500, failures + " failures, " + loads + " loads");
    }
}
