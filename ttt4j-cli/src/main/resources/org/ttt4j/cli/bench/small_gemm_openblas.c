/*
 * The OpenBLAS peer of `ttt4j bench small-gemm`: one shape, C = op(A) B + C with cblas_sgemm on
 * one thread, operands small enough to stay in L1 as ttt4j's are, calls back to back.
 *
 * Built by the bench with the system C compiler against the libopenblas it finds (the prototype
 * is declared here, so no headers are needed: the LP64 interface of Debian's libopenblas0).
 *
 * Usage: small_gemm_openblas M K N TRANS_A CALLS ROUNDS
 * Prints one JSON line: the best round's nanoseconds per call and GFLOP/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);
void openblas_set_num_threads(int n);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s M K N TRANS_A CALLS ROUNDS\n", argv[0]);
        return 2;
    }
    int m = atoi(argv[1]), k = atoi(argv[2]), n = atoi(argv[3]), trans_a = atoi(argv[4]);
    long calls = atol(argv[5]);
    int rounds = atoi(argv[6]);
    if (m < 1 || k < 1 || n < 1 || calls < 1 || rounds < 1) {
        fprintf(stderr, "sizes, calls and rounds must be positive\n");
        return 2;
    }
    openblas_set_num_threads(1);
    float *a = aligned_alloc(64, sizeof(float) * ((size_t) m * k + 16));
    float *b = aligned_alloc(64, sizeof(float) * ((size_t) k * n + 16));
    float *c = aligned_alloc(64, sizeof(float) * ((size_t) m * n + 16));
    srand(11);
    for (long i = 0; i < (long) m * k; i++) a[i] = (float) rand() / RAND_MAX - 0.5f;
    for (long i = 0; i < (long) k * n; i++) b[i] = (float) rand() / RAND_MAX - 0.5f;
    for (long i = 0; i < (long) m * n; i++) c[i] = 0;
    int lda = trans_a ? m : k;
    double best = 1e30;
    for (int r = 0; r < rounds + 1; r++) { /* the first round warms up */
        double t0 = now();
        for (long i = 0; i < calls; i++) {
            cblas_sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, NO_TRANS, m, n, k, 1e-6f, a, lda, b, n, 1.0f, c, n);
        }
        double s = now() - t0;
        if (r > 0 && s < best) best = s;
    }
    double ns = best / calls * 1e9;
    printf("{\"ns_per_call\": %.3f, \"gflops\": %.3f, \"check\": %g}\n", ns, 2.0 * m * k * n / ns, (double) c[0]);
    return 0;
}
