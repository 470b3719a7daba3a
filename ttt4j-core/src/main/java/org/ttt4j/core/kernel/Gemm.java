package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.core.tensor.Storage;

/**
 * The fast fp32 GEMM: C = op(A) op(B) (+ C). Same layout and semantics as {@link GemmReference}
 * (row-major; op(A) is m x k, with {@code transA} A is stored k x m; lda/ldb/ldc are row strides).
 *
 * <p>Structure (GotoBLAS/BLIS): B is packed once per call (in parallel, shared by all threads)
 * into {@code NR}-wide column panels, so all four transpose combinations feed one register-tiled
 * micro-kernel. The rows of C are cut into blocks of at most {@code MC_MAX} rows whose sizes
 * differ by at most one tile (so two threads get equal shares), one task each; a task walks its
 * columns in chunks of {@code NC_PANELS} panels (one chunk when k fits one k-block, so A is packed
 * once) and, per chunk and k-block of {@code KC}, packs its A rows and sweeps the B panels. Cache
 * reasoning (Sapphire Rapids: 48 KiB L1d, 2 MiB L2 per core, 32 zmm registers):
 * <ul>
 *   <li>micro-tile 12 x 32 (MR x NR): 24 accumulators; the kernel is FMA-bound, not load-bound;
 *   <li>KC = 256: one B micro-panel (256 x 32 floats = 32 KiB) stays in L1 while the kernel walks
 *       down the A block; the A micro-panel (12 KiB) streams next to it;
 *   <li>MC_MAX = 240: a packed A block (240 x 256 floats = 240 KiB) stays in L2 while the B
 *       panels of a chunk pass by; the chunk's C sub-block (240 x 512 floats) stays there too.
 * </ul>
 * Row tails go 8 + 8 instead of 12 + 4 (the 4-row kernel runs at a third of the speed). A
 * small row-major B (the 64 x 64 x 64 batched products) is read in place from L1 instead of
 * being packed for every entry (that packing cost ~15% there); batches run one entry per task.
 * Row-major A is packed with vector scatters (one per 16 floats); a blocked A layout that packs
 * with plain vector copies was tried and measured slower overall: its kernel, which then reads
 * a step's 12 values from 12 cache lines, lost ~7% on every size, more than the packing saved
 * except on the 64 x 64 x 64 batch.
 *
 * <p>Determinism: each C element is the sum over k in {@code KC}-blocks taken in order (the block
 * size depends only on k), each block summed by FMA in k order in one register lane, then added to
 * C. Threads only split the rows (and, for short C, the column panels) of C, so results are
 * bit-identical for any thread count, and every tile kernel (12, 8 or 4 rows) uses the same
 * per-element arithmetic.
 */
public final class Gemm {
    private static final VectorSpecies<Float> F = Simd.F;
    /** Lanes per vector: 16 with AVX-512. */
    private static final int L = F.length();
    /** Micro-tile: MR rows of C by NR = 2 vectors of columns. */
    static final int MR = 12;
    static final int NR = 2 * L;
    /** Depth of one k-block: a KC x NR panel of B fills about 2/3 of L1d. */
    static final int KC = 256;
    /** Rows per A block: MC_MAX x KC floats sit in L2. A multiple of MR. */
    static final int MC_MAX = 240;
    /**
     * Column panels per chunk: a C sub-block of MC_MAX x 512 floats (480 KiB) stays in L2 across
     * the k-blocks instead of being re-read from memory for each one.
     */
    static final int NC_PANELS = 16;
    /** Packed B (k x n, rounded to NR) beyond this many floats is done in column slabs. */
    private static final long B_PACK_MAX = 4L << 20;
    /** Below this many flops a call runs on the calling thread: forking costs more than it saves. */
    private static final long PARALLEL_MIN_FLOPS = 4L << 20;

    private Gemm() {}

    /** Lane i of a row goes to i * r: scatter maps for packing r-row panels of row-major A. */
    private static final int[] SCATTER12 = stride(12), SCATTER8 = stride(8), SCATTER4 = stride(4);

    private static int[] stride(int r) {
        int[] map = new int[L];
        for (int i = 0; i < L; i++) map[i] = i * r;
        return map;
    }
    /** Per-thread packing buffers, grown on demand, so steady-state calls allocate nothing. */
    private static final class Buffers {
        float[] a = new float[0];
        float[] b = new float[0];
        final float[] edge = new float[MR * NR];
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /** A B operand's packed panels are the same for the same array, offset, layout and size. */
    private record PackKey(float[] b, int bOff, int ldb, boolean transB, int k, int n) {}

    private static final ThreadLocal<Frozen> FROZEN = new ThreadLocal<>();

    /**
     * Panels arrays of closed scopes, by length, for the next scope on this thread (held softly):
     * a training loop repacks the same weights every step into the same arrays. Packing writes
     * every element, padding included, so an array needs no zeroing.
     */
    private static final ThreadLocal<java.util.HashMap<Integer, java.util.ArrayDeque<java.lang.ref.SoftReference<float[]>>>> SPARE =
            ThreadLocal.withInitial(java.util.HashMap::new);

    /**
     * A promise, while open, that the given arrays do not change: products this thread starts
     * with one of them as B pack it once and reuse the packed panels (the same values, so the
     * same bits). A training step's forward and backward read each weight matrix as B many times
     * (TTT-E2E's inner loop runs the LM head once per chunk, packing all of it for 64 rows);
     * the optimizer, which changes them, runs after the scope closes. Changing a frozen array
     * inside the scope would make later products read its old values.
     */
    public static final class Frozen implements AutoCloseable {
        private final java.util.IdentityHashMap<float[], Boolean> arrays = new java.util.IdentityHashMap<>();
        private final java.util.HashMap<PackKey, float[]> packs = new java.util.HashMap<>();
        private final Thread owner = Thread.currentThread();

        private Frozen(Iterable<float[]> arrays) {
            for (float[] a : arrays) this.arrays.put(a, Boolean.TRUE);
        }

        /** Drops the packed panels (their arrays wait for the next scope); the arrays may change again. */
        @Override
        public void close() {
            if (Thread.currentThread() != owner) throw new IllegalStateException("a Gemm.freeze scope must be closed on the thread that opened it");
            if (FROZEN.get() == this) FROZEN.remove();
            var spare = SPARE.get();
            for (float[] p : packs.values()) spare.computeIfAbsent(p.length, n -> new java.util.ArrayDeque<>()).push(new java.lang.ref.SoftReference<>(p));
            packs.clear();
        }

        /** An array of {@code length} floats for panels: a spare one if the collector left one, else new. */
        private static float[] panels(int length) {
            var q = SPARE.get().get(length);
            while (q != null && !q.isEmpty()) {
                float[] a = q.pop().get();
                if (a != null) return a;
            }
            return new float[length];
        }
    }

    /** Opens a {@link Frozen} scope on the calling thread for {@code arrays}; scopes do not nest. */
    public static Frozen freeze(Iterable<float[]> arrays) {
        if (FROZEN.get() != null) throw new IllegalStateException("a Gemm.freeze scope is already open on this thread");
        Frozen f = new Frozen(arrays);
        FROZEN.set(f);
        return f;
    }

    /**
     * C (m x n, row stride ldc, at cOff) = op(A) op(B), or C += op(A) op(B) with
     * {@code accumulate}. See {@link GemmReference} for the layout.
     *
     * @throws IllegalArgumentException for negative sizes or offsets, a row stride smaller than a
     *         stored row, or an operand that runs past the end of its array
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float[] c, int cOff, int ldc, boolean accumulate) {
        checkSizes(m, n, k);
        checkOperand("A", a, aOff, lda, transA ? k : m, transA ? m : k, 1, 0);
        checkOperand("B", b, bOff, ldb, transB ? n : k, transB ? k : n, 1, 0);
        checkOperand("C", c, cOff, ldc, m, n, 1, 0);
        gemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate,
                true);
    }

    /**
     * {@code batch} independent products: entry i uses A at {@code aOff + i * strideA}, B at
     * {@code bOff + i * strideB} and C at {@code cOff + i * strideC}. A stride of 0 shares that
     * operand across the batch (A and B only). Many small entries are spread over the threads
     * one entry per task; few large entries are parallelised inside each product.
     */
    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
                                    float[] a, int aOff, int strideA, float[] b, int bOff,
                                    int strideB, float[] c, int cOff, int strideC,
                                    boolean accumulate) {
        if (batch < 0) throw new IllegalArgumentException("batch must be >= 0, got " + batch);
        checkSizes(m, n, k);
        int lda = transA ? m : k, ldb = transB ? k : n, ldc = n;
        if (strideA < 0 || strideB < 0 || strideC < 0) {
            throw new IllegalArgumentException("strides must be >= 0, got strideA=" + strideA
                    + " strideB=" + strideB + " strideC=" + strideC);
        }
        if (batch > 1 && (long) m * n > 0 && strideC < (long) m * n) {
            throw new IllegalArgumentException("strideC " + strideC + " is smaller than one C ("
                    + m + " x " + n + "): batch entries would overlap");
        }
        checkOperand("A", a, aOff, lda, transA ? k : m, transA ? m : k, batch, strideA);
        checkOperand("B", b, bOff, ldb, transB ? n : k, transB ? k : n, batch, strideB);
        checkOperand("C", c, cOff, ldc, m, n, batch, strideC);
        if (batch == 0) return;
        long flops = 2L * m * n * k;
        int threads = Parallel.threads();
        if (batch >= threads && threads > 1 && !Parallel.insidePool()
                && flops * batch >= PARALLEL_MIN_FLOPS) {
            // One entry per task: no fork inside a product, and each worker reuses its own
            // packing buffers for all its entries.
            Parallel.forRange(batch, 1, (from, to) -> {
                for (int i = from; i < to; i++) {
                    gemm(transA, transB, m, n, k, a, aOff + i * strideA, lda,
                            b, bOff + i * strideB, ldb, c, cOff + i * strideC, ldc, accumulate,
                            false);
                }
            });
        } else {
            for (int i = 0; i < batch; i++) {
                gemm(transA, transB, m, n, k, a, aOff + i * strideA, lda, b, bOff + i * strideB,
                        ldb, c, cOff + i * strideC, ldc, accumulate, true);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Skinny products (decoding: one token's row times a weight matrix)

    /**
     * Rows of op(A) up to this count skip packing: packing a whole weight matrix to multiply it by
     * one row would move more memory than the product itself reads.
     */
    static final int SKINNY_M = 4;

    /**
     * C rows from op(A) rows without packing. With transB (B stored n x k, a weight matrix
     * [out, in]) each C element is a dot product of contiguous rows; otherwise C rows are built
     * as sums of B rows scaled by A's elements (axpy along n). Columns are split over threads;
     * every element's summation order depends on k only.
     */
    private static void skinny(boolean transA, boolean transB, int m, int n, int k,
                               float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                               float[] c, int cOff, int ldc, boolean accumulate, int threads) {
        float[] rows = new float[m * k];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) rows[i * k + p] = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
        }
        Parallel.RangeBody body = (from, to) -> {
            if (transB) {
                for (int i = 0; i < m; i++) {
                    for (int j = from; j < to; j++) {
                        float dot = Reductions.dot(rows, i * k, b, bOff + j * ldb, k);
                        int ci = cOff + i * ldc + j;
                        c[ci] = accumulate ? c[ci] + dot : dot;
                    }
                }
                return;
            }
            float[] acc = new float[to - from];
            for (int i = 0; i < m; i++) {
                java.util.Arrays.fill(acc, 0f);
                for (int p = 0; p < k; p++) {
                    var s = FloatVector.broadcast(F, rows[i * k + p]);
                    int row = bOff + p * ldb + from, j = 0;
                    for (int upper = F.loopBound(to - from); j < upper; j += L) {
                        FloatVector.fromArray(F, b, row + j).fma(s, FloatVector.fromArray(F, acc, j)).intoArray(acc, j);
                    }
                    for (; j < to - from; j++) acc[j] = Math.fma(rows[i * k + p], b[row + j], acc[j]);
                }
                for (int j = 0; j < to - from; j++) {
                    int ci = cOff + i * ldc + from + j;
                    c[ci] = accumulate ? c[ci] + acc[j] : acc[j];
                }
            }
        };
        if (threads > 1) Parallel.forRange(n, Math.max(L, n / (threads * 4)), body);
        else body.run(0, n);
    }

    // ---------------------------------------------------------------------------------------
    // Driver

    private static void gemm(boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float[] c, int cOff, int ldc, boolean accumulate, boolean mayFork) {
        if (m == 0 || n == 0) return;
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
                }
            }
            return;
        }
        if (!Simd.enabled()) {
            GemmReference.gemm(transA, transB, m, n, k, new Storage.F32(a), aOff, lda,
                    new Storage.F32(b), bOff, ldb, new Storage.F32(c), cOff, ldc, accumulate);
            return;
        }
        int threads = mayFork && !Parallel.insidePool()
                && 2L * m * n * k >= PARALLEL_MIN_FLOPS ? Parallel.threads() : 1;
        if (m <= SKINNY_M) {
            skinny(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate, threads);
            return;
        }

        // k-blocks of equal size (depends on k only, so the summation order is fixed).
        int kBlocks = (k + KC - 1) / KC;
        int kc = (k + kBlocks - 1) / kBlocks;

        // Row blocks: at most MC_MAX rows, and at least one block per thread when m allows.
        int mBlocks = (m + MC_MAX - 1) / MC_MAX;
        if (threads > 1) {
            mBlocks = Math.min(roundUp(mBlocks, threads), (m + MR - 1) / MR);
        }
        // Block b covers tiles [tiles * b / mBlocks, tiles * (b+1) / mBlocks): sizes differ by at
        // most one tile, so the threads get equal shares (a short last block idles one core).
        int tiles = (m + MR - 1) / MR;
        int mc = (tiles + mBlocks - 1) / mBlocks * MR;

        boolean direct = directB(transB, n, k, ldb);

        // Column slabs bound the packed-B buffer; usually the whole of B is one slab.
        int panelsTotal = (n + NR - 1) / NR;
        int slabPanels = (int) Math.max(1, Math.min(panelsTotal, B_PACK_MAX / ((long) k * NR)));

        // A frozen B that fits one slab is packed once per scope and reused (see freeze).
        Frozen frozen = direct || slabPanels < panelsTotal ? null : FROZEN.get();
        float[] kept = null;
        boolean pack = true;
        if (frozen != null && frozen.arrays.containsKey(b)) {
            var key = new PackKey(b, bOff, ldb, transB, k, n);
            kept = frozen.packs.get(key);
            if (kept != null) {
                pack = false;
            } else {
                kept = Frozen.panels(panelsTotal * NR * k);
                frozen.packs.put(key, kept);
            }
        }
        float[] bp;
        if (kept != null) {
            bp = kept;
        } else {
            Buffers own = BUFFERS.get();
            if (own.b.length < slabPanels * NR * k) own.b = new float[slabPanels * NR * k];
            bp = own.b;
        }

        for (int slab0 = 0; slab0 < panelsTotal; slab0 += slabPanels) {
            int panels = Math.min(slabPanels, panelsTotal - slab0);
            int j0 = slab0 * NR;
            int ncSlab = Math.min(n - j0, panels * NR);

            // Pack this slab of B (all k rows), split over the threads by column panel. A small
            // row-major B is read in place (it stays in L1); only its ragged last panel is packed.
            if (pack && direct) {
                if (ncSlab % NR != 0) {
                    packB(false, b, bOff, ldb, k, kc, j0, ncSlab, panels, panels - 1, panels, bp);
                }
            } else if (pack && threads > 1) {
                Parallel.forRange(panels, 4, (from, to) ->
                        packB(transB, b, bOff, ldb, k, kc, j0, ncSlab, panels, from, to, bp));
            } else if (pack) {
                packB(transB, b, bOff, ldb, k, kc, j0, ncSlab, panels, 0, panels, bp);
            }

            // Short C: also split the column panels so every thread gets work.
            int nGroups = mBlocks >= threads ? 1 : Math.min(panels, (threads + mBlocks - 1) / mBlocks);
            int units = mBlocks * nGroups;
            int fMc = mc, fmBlocks = mBlocks;
            Parallel.RangeBody body = (from, to) -> {
                Buffers mine = BUFFERS.get();
                int need = (fMc + 4) * kc + L; // + L: room for packA's last vector store
                if (mine.a.length < need) mine.a = new float[need];
                for (int u = from; u < to; u++) {
                    int bi = u / nGroups, g = u % nGroups;
                    int i0 = (int) ((long) tiles * bi / fmBlocks) * MR;
                    int rows = Math.min(m, (int) ((long) tiles * (bi + 1) / fmBlocks) * MR) - i0;
                    int q0 = (int) ((long) panels * g / nGroups);
                    int q1 = (int) ((long) panels * (g + 1) / nGroups);
                    block(transA, a, aOff, lda, c, cOff, ldc, accumulate, k, kc,
                            i0, rows, j0, ncSlab, panels, q0, q1, bp, mine.a, mine.edge,
                            direct ? b : null, bOff, ldb);
                }
            };
            if (threads > 1 && units > 1) {
                Parallel.forRange(units, 1, body);
            } else {
                body.run(0, units);
            }
        }
    }

    /**
     * One row block of C (rows i0 .. i0+rows) against B panels q0 .. q1 of the current slab, in
     * column chunks of NC_PANELS panels so that the C sub-block (rows x 512 floats) stays in L2
     * across the k-blocks. Per chunk and k-block: pack A, then sweep B panels (outer, the B
     * micro-panel stays in L1) and A micro-panels (inner, from L2).
     */
    private static void block(boolean transA, float[] a, int aOff, int lda,
                              float[] c, int cOff, int ldc, boolean accumulate, int k, int kcMax,
                              int i0, int rows, int j0, int ncSlab, int panels, int q0, int q1,
                              float[] bp, float[] ap, float[] edge,
                              float[] bd, int bdOff, int ldbd) {
        // With one k-block there is no C to keep in L2 between k-blocks: one chunk, A packed once.
        int chunk = k <= kcMax ? Math.max(1, q1 - q0) : NC_PANELS;
        for (int qc = q0; qc < q1; qc += chunk) {
            int qEnd = Math.min(q1, qc + chunk);
            for (int p0 = 0; p0 < k; p0 += kcMax) {
                int kc = Math.min(kcMax, k - p0);
                packA(transA, a, aOff, lda, i0, rows, p0, kc, ap);
                boolean add = accumulate || p0 > 0;
                for (int q = qc; q < qEnd; q++) {
                    int jq = q * NR;
                    int nr = Math.min(NR, ncSlab - jq);
                    int bi = p0 * panels * NR + q * kc * NR;
                    int cRow = cOff + i0 * ldc + j0 + jq;
                    for (int ir = 0; ir < rows; ) {
                        int mr = tileRows(rows - ir);
                        int ai = ir * kc;
                        if (nr == NR && bd != null) {
                            kernel(mr, kc, ap, ai, bd, bdOff + p0 * ldbd + j0 + jq, ldbd,
                                    c, cRow + ir * ldc, ldc, add);
                        } else if (nr == NR) {
                            kernel(mr, kc, ap, ai, bp, bi, NR, c, cRow + ir * ldc, ldc, add);
                        } else {
                            // Right edge: compute the full tile into a scratch tile, then copy
                            // the nr valid columns (same arithmetic, so edges round like the
                            // interior).
                            kernel(mr, kc, ap, ai, bp, bi, NR, edge, 0, NR, false);
                            for (int r = 0; r < mr; r++) {
                                int cr = cRow + (ir + r) * ldc;
                                for (int j = 0; j < nr; j++) {
                                    float v = edge[r * NR + j];
                                    c[cr + j] = add ? c[cr + j] + v : v;
                                }
                            }
                        }
                        ir += mr;
                    }
                }
            }
        }
    }

    /** Tests set this to "true" or "false" to force the B path; null chooses by size. */
    static volatile String directB = null;

    /**
     * Whether B is read in place rather than packed: row-major, one k-block, and small enough
     * (k rows at stride ldb span at most 32 KiB) to stay in L1 for the whole product, where
     * packing it would cost as much as a good part of the arithmetic (64 x 64 x 64: ~15%).
     */
    private static boolean directB(boolean transB, int n, int k, int ldb) {
        String force = directB;
        if (force != null) return !transB && k <= KC && force.equals("true");
        return !transB && k <= KC && (long) k * ldb <= 8192 && n >= NR;
    }

    /**
     * One mr x NR tile from a packed A panel at ai and B rows at bi, bi + bs, ... (bs = NR for a
     * packed micro-panel, ldb for B read in place).
     */
    private static void kernel(int mr, int kc, float[] ap, int ai, float[] bp, int bi, int bs,
                               float[] c, int ci, int ldc, boolean add) {
        switch (mr) {
            case 12 -> kernel12(kc, ap, ai, bp, bi, bs, c, ci, ldc, add);
            case 8 -> kernel8(kc, ap, ai, bp, bi, bs, c, ci, ldc, add);
            default -> kernel4(kc, ap, ai, bp, bi, bs, c, ci, ldc, add, mr);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Packing

    /**
     * Rows of the next micro-tile when {@code left} rows remain: 12, except that 16 goes as 8 + 8
     * (two 8-row tiles beat a 12 and a slow 4); 8..11 -> 8; 1..7 -> 4 (the last 1..3 rows are
     * computed against padding rows and not stored).
     */
    static int tileRows(int left) {
        return left == 16 ? 8 : left >= 12 ? 12 : left >= 8 ? 8 : Math.min(4, left);
    }

    /**
     * Packs rows i0 .. i0+rows, k-range p0 .. p0+kc of op(A) into panels of {@link #tileRows}
     * rows (the same split as {@link #block}); in a panel of r rows element (row, p) sits at
     * {@code p * r + row}, so the kernel reads r consecutive floats per k step. The last panel is
     * zero-padded to 4 rows.
     */
    private static void packA(boolean transA, float[] a, int aOff, int lda,
                              int i0, int rows, int p0, int kc, float[] ap) {
        for (int ir = 0; ir < rows; ) {
            int left = rows - ir;
            int r = Math.max(4, tileRows(left));
            int valid = Math.min(r, left);
            int dst = ir * kc;
            if (!transA) {
                // Row-major A: each row is contiguous in p and goes to stride r in the panel.
                // A scatter moves L of them per instruction (vscatterdps) instead of one.
                int[] map = r == 12 ? SCATTER12 : r == 8 ? SCATTER8 : SCATTER4;
                int pv = kc - kc % L;
                for (int row = 0; row < valid; row++) {
                    int src = aOff + (i0 + ir + row) * lda + p0;
                    for (int p = 0; p < pv; p += L) {
                        FloatVector.fromArray(F, a, src + p).intoArray(ap, dst + row + p * r, map, 0);
                    }
                    for (int p = pv, d = dst + row + pv * r; p < kc; p++, d += r) ap[d] = a[src + p];
                }
            } else {
                // Stored k x m: the r rows of one k step are contiguous in memory. Whole vectors of
                // L floats per k step; the lanes past valid land in rows that are zeroed below or in
                // the next steps' (or the next panel's) places, written after (the buffer has L
                // floats of room after the last).
                int span = (valid + L - 1) / L * L;
                for (int p = 0; p < kc; p++) {
                    int src = aOff + (p0 + p) * lda + i0 + ir, d = dst + p * r;
                    if (src + span <= a.length) {
                        for (int j = 0; j < valid; j += L) FloatVector.fromArray(F, a, src + j).intoArray(ap, d + j);
                    } else {
                        System.arraycopy(a, src, ap, d, valid);
                    }
                }
            }
            if (valid < r) {
                for (int p = 0; p < kc; p++) {
                    for (int row = valid; row < r; row++) ap[dst + p * r + row] = 0f;
                }
            }
            ir += valid;
        }
    }

    /**
     * Packs B panels q0 .. q1 of the slab starting at column j0 (ncSlab columns, panels in all).
     * Panel q holds columns j0 + q*NR .. +NR, zero-padded. The layout is k-block major: the
     * block starting at row p0 (kcb rows) begins at {@code p0 * panels * NR}, its panel q at
     * {@code + q * kcb * NR}, row p at {@code + (p - p0) * NR}; a column sweep for one k-block
     * then reads one contiguous stretch of memory.
     */
    private static void packB(boolean transB, float[] b, int bOff, int ldb, int k, int kc,
                              int j0, int ncSlab, int panels, int q0, int q1, float[] bp) {
        for (int p0 = 0; p0 < k; p0 += kc) {
            int kcb = Math.min(kc, k - p0);
            for (int q = q0; q < q1; q++) {
                int jq = q * NR;
                int nr = Math.min(NR, ncSlab - jq);
                int dst = p0 * panels * NR + q * kcb * NR;
                if (!transB) {
                    int src = bOff + p0 * ldb + j0 + jq;
                    if (nr == NR) {
                        // Row-major B: copy two vectors per k row.
                        for (int p = 0; p < kcb; p++, src += ldb, dst += NR) {
                            FloatVector.fromArray(F, b, src).intoArray(bp, dst);
                            FloatVector.fromArray(F, b, src + L).intoArray(bp, dst + L);
                        }
                    } else {
                        for (int p = 0; p < kcb; p++, src += ldb, dst += NR) {
                            System.arraycopy(b, src, bp, dst, nr);
                            java.util.Arrays.fill(bp, dst + nr, dst + NR, 0f);
                        }
                    }
                } else {
                    // Stored n x k: column j of op(B) is row j of B, contiguous in p.
                    for (int j = 0; j < nr; j++) {
                        int src = bOff + (j0 + jq + j) * ldb + p0;
                        for (int p = 0, d = dst + j; p < kcb; p++, d += NR) bp[d] = b[src + p];
                    }
                    for (int j = nr; j < NR; j++) {
                        for (int p = 0, d = dst + j; p < kcb; p++, d += NR) bp[d] = 0f;
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Micro-kernels: acc = sum_p a(row, p) * b(p, :) by FMA in p order, then C = acc or C += acc.

    /** The main tile: 12 rows x 2 vectors = 24 accumulators + 2 B vectors + 1 broadcast = 27 of
     * the 32 zmm registers. Per k step: 2 vector loads + 12 broadcasts feed 24 FMAs, so the two FMA
     * ports, not the load ports, are the limit. */
    private static void kernel12(int kc, float[] ap, int ai, float[] bp, int bi, int bs,
                                 float[] c, int ci, int ldc, boolean add) {
        FloatVector x0 = FloatVector.zero(F), y0 = FloatVector.zero(F);
        FloatVector x1 = FloatVector.zero(F), y1 = FloatVector.zero(F);
        FloatVector x2 = FloatVector.zero(F), y2 = FloatVector.zero(F);
        FloatVector x3 = FloatVector.zero(F), y3 = FloatVector.zero(F);
        FloatVector x4 = FloatVector.zero(F), y4 = FloatVector.zero(F);
        FloatVector x5 = FloatVector.zero(F), y5 = FloatVector.zero(F);
        FloatVector x6 = FloatVector.zero(F), y6 = FloatVector.zero(F);
        FloatVector x7 = FloatVector.zero(F), y7 = FloatVector.zero(F);
        FloatVector x8 = FloatVector.zero(F), y8 = FloatVector.zero(F);
        FloatVector x9 = FloatVector.zero(F), y9 = FloatVector.zero(F);
        FloatVector x10 = FloatVector.zero(F), y10 = FloatVector.zero(F);
        FloatVector x11 = FloatVector.zero(F), y11 = FloatVector.zero(F);
        for (int p = 0; p < kc; p++) {
            int ao = ai + p * 12, bo = bi + p * bs;
            FloatVector b0 = FloatVector.fromArray(F, bp, bo);
            FloatVector b1 = FloatVector.fromArray(F, bp, bo + L);
            FloatVector a;
            a = FloatVector.broadcast(F, ap[ao]); x0 = a.fma(b0, x0); y0 = a.fma(b1, y0);
            a = FloatVector.broadcast(F, ap[ao + 1]); x1 = a.fma(b0, x1); y1 = a.fma(b1, y1);
            a = FloatVector.broadcast(F, ap[ao + 2]); x2 = a.fma(b0, x2); y2 = a.fma(b1, y2);
            a = FloatVector.broadcast(F, ap[ao + 3]); x3 = a.fma(b0, x3); y3 = a.fma(b1, y3);
            a = FloatVector.broadcast(F, ap[ao + 4]); x4 = a.fma(b0, x4); y4 = a.fma(b1, y4);
            a = FloatVector.broadcast(F, ap[ao + 5]); x5 = a.fma(b0, x5); y5 = a.fma(b1, y5);
            a = FloatVector.broadcast(F, ap[ao + 6]); x6 = a.fma(b0, x6); y6 = a.fma(b1, y6);
            a = FloatVector.broadcast(F, ap[ao + 7]); x7 = a.fma(b0, x7); y7 = a.fma(b1, y7);
            a = FloatVector.broadcast(F, ap[ao + 8]); x8 = a.fma(b0, x8); y8 = a.fma(b1, y8);
            a = FloatVector.broadcast(F, ap[ao + 9]); x9 = a.fma(b0, x9); y9 = a.fma(b1, y9);
            a = FloatVector.broadcast(F, ap[ao + 10]); x10 = a.fma(b0, x10); y10 = a.fma(b1, y10);
            a = FloatVector.broadcast(F, ap[ao + 11]); x11 = a.fma(b0, x11); y11 = a.fma(b1, y11);
        }
        // Two store paths: merging vectors at a branch join would make C2 box them.
        int r = ci;
        if (add) {
            x0.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y0.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x1.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y1.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x2.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y2.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x3.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y3.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x4.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y4.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x5.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y5.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x6.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y6.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x7.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y7.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x8.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y8.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x9.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y9.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x10.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y10.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x11.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y11.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
        } else {
            x0.intoArray(c, r);
            y0.intoArray(c, r + L);
            r += ldc;
            x1.intoArray(c, r);
            y1.intoArray(c, r + L);
            r += ldc;
            x2.intoArray(c, r);
            y2.intoArray(c, r + L);
            r += ldc;
            x3.intoArray(c, r);
            y3.intoArray(c, r + L);
            r += ldc;
            x4.intoArray(c, r);
            y4.intoArray(c, r + L);
            r += ldc;
            x5.intoArray(c, r);
            y5.intoArray(c, r + L);
            r += ldc;
            x6.intoArray(c, r);
            y6.intoArray(c, r + L);
            r += ldc;
            x7.intoArray(c, r);
            y7.intoArray(c, r + L);
            r += ldc;
            x8.intoArray(c, r);
            y8.intoArray(c, r + L);
            r += ldc;
            x9.intoArray(c, r);
            y9.intoArray(c, r + L);
            r += ldc;
            x10.intoArray(c, r);
            y10.intoArray(c, r + L);
            r += ldc;
            x11.intoArray(c, r);
            y11.intoArray(c, r + L);
        }
    }

    /** Row tail of 8 rows (16 accumulators). */
    private static void kernel8(int kc, float[] ap, int ai, float[] bp, int bi, int bs,
                                 float[] c, int ci, int ldc, boolean add) {
        FloatVector x0 = FloatVector.zero(F), y0 = FloatVector.zero(F);
        FloatVector x1 = FloatVector.zero(F), y1 = FloatVector.zero(F);
        FloatVector x2 = FloatVector.zero(F), y2 = FloatVector.zero(F);
        FloatVector x3 = FloatVector.zero(F), y3 = FloatVector.zero(F);
        FloatVector x4 = FloatVector.zero(F), y4 = FloatVector.zero(F);
        FloatVector x5 = FloatVector.zero(F), y5 = FloatVector.zero(F);
        FloatVector x6 = FloatVector.zero(F), y6 = FloatVector.zero(F);
        FloatVector x7 = FloatVector.zero(F), y7 = FloatVector.zero(F);
        for (int p = 0; p < kc; p++) {
            int ao = ai + p * 8, bo = bi + p * bs;
            FloatVector b0 = FloatVector.fromArray(F, bp, bo);
            FloatVector b1 = FloatVector.fromArray(F, bp, bo + L);
            FloatVector a;
            a = FloatVector.broadcast(F, ap[ao]); x0 = a.fma(b0, x0); y0 = a.fma(b1, y0);
            a = FloatVector.broadcast(F, ap[ao + 1]); x1 = a.fma(b0, x1); y1 = a.fma(b1, y1);
            a = FloatVector.broadcast(F, ap[ao + 2]); x2 = a.fma(b0, x2); y2 = a.fma(b1, y2);
            a = FloatVector.broadcast(F, ap[ao + 3]); x3 = a.fma(b0, x3); y3 = a.fma(b1, y3);
            a = FloatVector.broadcast(F, ap[ao + 4]); x4 = a.fma(b0, x4); y4 = a.fma(b1, y4);
            a = FloatVector.broadcast(F, ap[ao + 5]); x5 = a.fma(b0, x5); y5 = a.fma(b1, y5);
            a = FloatVector.broadcast(F, ap[ao + 6]); x6 = a.fma(b0, x6); y6 = a.fma(b1, y6);
            a = FloatVector.broadcast(F, ap[ao + 7]); x7 = a.fma(b0, x7); y7 = a.fma(b1, y7);
        }
        // Two store paths: merging vectors at a branch join would make C2 box them.
        int r = ci;
        if (add) {
            x0.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y0.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x1.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y1.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x2.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y2.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x3.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y3.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x4.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y4.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x5.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y5.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x6.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y6.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            x7.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y7.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
        } else {
            x0.intoArray(c, r);
            y0.intoArray(c, r + L);
            r += ldc;
            x1.intoArray(c, r);
            y1.intoArray(c, r + L);
            r += ldc;
            x2.intoArray(c, r);
            y2.intoArray(c, r + L);
            r += ldc;
            x3.intoArray(c, r);
            y3.intoArray(c, r + L);
            r += ldc;
            x4.intoArray(c, r);
            y4.intoArray(c, r + L);
            r += ldc;
            x5.intoArray(c, r);
            y5.intoArray(c, r + L);
            r += ldc;
            x6.intoArray(c, r);
            y6.intoArray(c, r + L);
            r += ldc;
            x7.intoArray(c, r);
            y7.intoArray(c, r + L);
        }
    }

    /** Row tail of 1..4 rows ({@code mr} valid; the packed panel is zero-padded to 4). */
    private static void kernel4(int kc, float[] ap, int ai, float[] bp, int bi, int bs,
                                 float[] c, int ci, int ldc, boolean add, int mr) {
        FloatVector x0 = FloatVector.zero(F), y0 = FloatVector.zero(F);
        FloatVector x1 = FloatVector.zero(F), y1 = FloatVector.zero(F);
        FloatVector x2 = FloatVector.zero(F), y2 = FloatVector.zero(F);
        FloatVector x3 = FloatVector.zero(F), y3 = FloatVector.zero(F);
        for (int p = 0; p < kc; p++) {
            int ao = ai + p * 4, bo = bi + p * bs;
            FloatVector b0 = FloatVector.fromArray(F, bp, bo);
            FloatVector b1 = FloatVector.fromArray(F, bp, bo + L);
            FloatVector a;
            a = FloatVector.broadcast(F, ap[ao]); x0 = a.fma(b0, x0); y0 = a.fma(b1, y0);
            a = FloatVector.broadcast(F, ap[ao + 1]); x1 = a.fma(b0, x1); y1 = a.fma(b1, y1);
            a = FloatVector.broadcast(F, ap[ao + 2]); x2 = a.fma(b0, x2); y2 = a.fma(b1, y2);
            a = FloatVector.broadcast(F, ap[ao + 3]); x3 = a.fma(b0, x3); y3 = a.fma(b1, y3);
        }
        // Two store paths: merging vectors at a branch join would make C2 box them.
        int r = ci;
        if (add) {
            x0.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y0.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            if (mr == 1) return;
            x1.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y1.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            if (mr == 2) return;
            x2.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y2.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
            r += ldc;
            if (mr == 3) return;
            x3.add(FloatVector.fromArray(F, c, r)).intoArray(c, r);
            y3.add(FloatVector.fromArray(F, c, r + L)).intoArray(c, r + L);
        } else {
            x0.intoArray(c, r);
            y0.intoArray(c, r + L);
            r += ldc;
            if (mr == 1) return;
            x1.intoArray(c, r);
            y1.intoArray(c, r + L);
            r += ldc;
            if (mr == 2) return;
            x2.intoArray(c, r);
            y2.intoArray(c, r + L);
            r += ldc;
            if (mr == 3) return;
            x3.intoArray(c, r);
            y3.intoArray(c, r + L);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Argument checks

    private static void checkSizes(int m, int n, int k) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException(
                    "sizes must be >= 0, got m=" + m + " n=" + n + " k=" + k);
        }
    }

    /**
     * Checks that a stored rows x cols matrix (row stride ld) at off, repeated count times every
     * stride floats, lies inside the array.
     */
    private static void checkOperand(String name, float[] x, int off, int ld, int rows, int cols,
                                     int count, int stride) {
        if (x == null) throw new IllegalArgumentException(name + " is null");
        if (off < 0) throw new IllegalArgumentException(name + " offset must be >= 0, got " + off);
        if (rows == 0 || cols == 0 || count == 0) return;
        if (ld < cols) {
            throw new IllegalArgumentException("leading dimension of " + name + " (" + ld
                    + ") is smaller than its stored row width " + cols);
        }
        long end = off + (long) (count - 1) * stride + (long) (rows - 1) * ld + cols;
        if (end > x.length) {
            throw new IllegalArgumentException(name + " runs past its array: needs " + end
                    + " floats (offset " + off + ", " + rows + " x " + cols + ", ld " + ld
                    + (count > 1 ? ", " + count + " entries every " + stride : "")
                    + "), array has " + x.length);
        }
    }

    private static int roundUp(int x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }
}
