// onednn_bench: times oneDNN's convolution, matmul and (unfused) attention on given shapes, with the same line
// protocol as cxr-kernel-bench (Sources/cxr-kernel-bench/main.swift), so Tools/bench/onednn/compare.py can keep
// both running and alternate them. Not part of the package: cxr-edit does not link oneDNN.
//
//   cc -O2 -o onednn_bench Tools/bench/onednn/onednn_bench.c -ldnnl     (Debian: apt-get install libdnnl-dev)
//
// Commands (one line each; the answer is "ok" and, per timed run, TOTAL,PRIMITIVE seconds, or "error ..."):
//   conv N C H W O K STRIDE PAD PRECISION REPS [INPUT_PREFIX OUTPUT_FILE]
//   linear M K N PRECISION REPS [INPUT_PREFIX OUTPUT_FILE]
//   attention B HEADS LQ LK D REPS [INPUT_PREFIX OUTPUT_FILE]
// PRECISION: fp32, or bf16 (bf16 source and weights, float32 destination and accumulation, which is what
// cxr-edit's bf16 GEMM computes). The conv algorithm is dnnl_convolution_auto (direct, on this version) unless
// ONEDNN_BENCH_CONV_ALG is "direct" or "winograd" (Winograd where oneDNN has it, auto elsewhere).
//
// What is timed, and why: cxr-edit's layers take and return float32 NCHW (conv) or row-major (linear) tensors, so
// TOTAL includes reordering the input into the layout (and, for bf16, the type) the primitive chose and the
// output back to NCHW; PRIMITIVE is the primitive alone, what a network kept in oneDNN's blocked layout
// throughout would pay. Weights are reordered once, untimed, as cxr-edit packs its bf16 weights once. The
// output buffer is allocated once (cxr-edit allocates its output per call; that cost is in its figure).
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <oneapi/dnnl/dnnl.h>

#define CHECK(call)                                                                                                \
    do {                                                                                                           \
        dnnl_status_t s_ = (call);                                                                                 \
        if (s_ != dnnl_success) {                                                                                  \
            snprintf(error, sizeof error, "%s failed: status %d (line %d)", #call, (int)s_, __LINE__);             \
            return -1;                                                                                             \
        }                                                                                                          \
    } while (0)

static char error[2048];
static dnnl_engine_t engine;
static dnnl_stream_t stream;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The same xorshift values as cxr-kernel-bench's pseudoRandom, so both run on data of the same range.
static void pseudo_random(float *dst, size_t count, uint64_t seed, float scale) {
    uint64_t s = (seed * 0x9E3779B97F4A7C15ull) | 1;
    for (size_t i = 0; i < count; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        dst[i] = ((float)(s >> 40) / (float)(1 << 24) * 2 - 1) * scale;
    }
}

static int read_floats(const char *prefix, const char *name, float *dst, size_t count) {
    char path[1024];
    snprintf(path, sizeof path, "%s.%s.bin", prefix, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(error, sizeof error, "cannot open %s", path);
        return -1;
    }
    size_t got = fread(dst, 4, count, f);
    fclose(f);
    if (got != count) {
        snprintf(error, sizeof error, "%s: %zu values, expected %zu", path, got, count);
        return -1;
    }
    return 0;
}

static int operand(const char *prefix, const char *name, float *dst, size_t count, uint64_t seed, float scale) {
    if (prefix) return read_floats(prefix, name, dst, count);
    pseudo_random(dst, count, seed, scale);
    return 0;
}

static int write_floats(const char *path, const float *src, size_t count) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(src, 4, count, f) != count) {
        snprintf(error, sizeof error, "cannot write %s", path);
        if (f) fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

// A memory object for `md`, owning its buffer (freed by free_memory).
static int make_memory(dnnl_memory_t *mem, const dnnl_memory_desc_t *md) {
    void *buf = NULL;
    size_t size = dnnl_memory_desc_get_size(md);
    if (posix_memalign(&buf, 64, size ? size : 64) != 0) {
        snprintf(error, sizeof error, "out of memory (%zu bytes)", size);
        return -1;
    }
    memset(buf, 0, size);
    CHECK(dnnl_memory_create(mem, md, engine, buf));
    return 0;
}

static void free_memory(dnnl_memory_t mem) {
    void *buf = NULL;
    if (!mem) return;
    dnnl_memory_get_data_handle(mem, &buf);
    dnnl_memory_destroy(mem);
    free(buf);
}

// A reorder from `from` to `to`, or NULL where the layouts are already equal.
static int make_reorder(dnnl_primitive_t *prim, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to) {
    *prim = NULL;
    if (dnnl_memory_desc_equal(from, to)) return 0;
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL));
    CHECK(dnnl_primitive_create(prim, pd));
    dnnl_primitive_desc_destroy(pd);
    return 0;
}

static int reorder(dnnl_primitive_t prim, dnnl_memory_t from, dnnl_memory_t to) {
    if (!prim) return 0;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    CHECK(dnnl_primitive_execute(prim, stream, 2, args));
    CHECK(dnnl_stream_wait(stream));
    return 0;
}

// A primitive with float32 user memory on both sides: the user's input is reordered into `src` (the layout and
// type the primitive chose) and its `dst` back into the user's output, each skipped where they are the same.
typedef struct {
    dnnl_primitive_t prim, in_reorder, out_reorder;
    dnnl_memory_t user_src, src, weights, bias, dst, user_dst, scratch;
    const char *impl;
    double weight_seconds;  // the one-time weight reorder (cxr-edit transforms fp32 Winograd weights per call)
} layer_t;

static int layer_setup(layer_t *L, dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *user_src_md,
    const dnnl_memory_desc_t *user_w_md, const float *w, const dnnl_memory_desc_t *bias_md, const float *b,
    const dnnl_memory_desc_t *user_dst_md) {
    const dnnl_memory_desc_t *src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *w_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t *scratch_md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &L->impl));
    CHECK(dnnl_primitive_create(&L->prim, pd));
    if (make_memory(&L->user_src, user_src_md) || make_memory(&L->src, src_md) || make_memory(&L->dst, dst_md)
        || make_memory(&L->user_dst, user_dst_md) || make_memory(&L->weights, w_md)
        || make_memory(&L->bias, bias_md) || make_memory(&L->scratch, scratch_md))
        return -1;
    if (make_reorder(&L->in_reorder, user_src_md, src_md) || make_reorder(&L->out_reorder, dst_md, user_dst_md))
        return -1;
    // Weights: from the user's float32 layout into the primitive's, once.
    dnnl_memory_t user_w;
    dnnl_primitive_t w_reorder;
    CHECK(dnnl_memory_create(&user_w, user_w_md, engine, (void *)w));
    if (make_reorder(&w_reorder, user_w_md, w_md)) return -1;
    if (w_reorder) {
        double t0 = now();
        if (reorder(w_reorder, user_w, L->weights)) return -1;
        L->weight_seconds = now() - t0;
        dnnl_primitive_destroy(w_reorder);
    } else {
        void *dst = NULL;
        dnnl_memory_get_data_handle(L->weights, &dst);
        memcpy(dst, w, dnnl_memory_desc_get_size(user_w_md));
    }
    dnnl_memory_destroy(user_w);
    void *bias = NULL;
    dnnl_memory_get_data_handle(L->bias, &bias);
    memcpy(bias, b, dnnl_memory_desc_get_size(bias_md));
    return 0;
}

static void layer_free(layer_t *L) {
    if (L->prim) dnnl_primitive_destroy(L->prim);
    if (L->in_reorder) dnnl_primitive_destroy(L->in_reorder);
    if (L->out_reorder) dnnl_primitive_destroy(L->out_reorder);
    free_memory(L->user_src); free_memory(L->src); free_memory(L->weights); free_memory(L->bias);
    free_memory(L->dst); free_memory(L->user_dst); free_memory(L->scratch);
}

// One forward pass: input reorder, primitive, output reorder; `prim_seconds` gets the primitive's share.
static int layer_run(layer_t *L, double *prim_seconds) {
    if (reorder(L->in_reorder, L->user_src, L->src)) return -1;
    dnnl_memory_t src = L->in_reorder ? L->src : L->user_src;
    dnnl_memory_t dst = L->out_reorder ? L->dst : L->user_dst;
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, L->weights}, {DNNL_ARG_BIAS, L->bias},
        {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, L->scratch}};
    double t0 = now();
    CHECK(dnnl_primitive_execute(L->prim, stream, 5, args));
    CHECK(dnnl_stream_wait(stream));
    *prim_seconds = now() - t0;
    return reorder(L->out_reorder, L->dst, L->user_dst);
}

static dnnl_primitive_attr_t user_scratchpad_attr(void) {
    dnnl_primitive_attr_t attr;
    dnnl_primitive_attr_create(&attr);
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    return attr;
}

// Times `reps` runs after one warm-up; prints "ok total,prim ..." and writes the output when asked.
static int time_layer(layer_t *L, int reps, const char *out_path, size_t out_count) {
    double prim;
    if (layer_run(L, &prim)) return -1;
    printf("ok");
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (layer_run(L, &prim)) return -1;
        printf(" %.6f,%.6f", now() - t0, prim);
    }
    printf(" impl=%s weights=%.6f\n", L->impl, L->weight_seconds);
    if (out_path) {
        void *out = NULL;
        dnnl_memory_get_data_handle(L->user_dst, &out);
        if (write_floats(out_path, out, out_count)) return -1;
    }
    return 0;
}

static int conv(long n, long c, long h, long w, long o, long k, long stride, long pad, int bf16, int reps,
    const char *prefix, const char *out_path) {
    long ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
    dnnl_data_type_t in_type = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t src_dims = {n, c, h, w}, w_dims = {o, c, k, k}, b_dims = {o}, dst_dims = {n, o, ho, wo};
    dnnl_dims_t strides = {stride, stride}, padding = {pad, pad};
    dnnl_memory_desc_t user_src, user_w, bias, user_dst, src_any, w_any, dst_any;
    CHECK(dnnl_memory_desc_init_by_tag(&user_src, 4, src_dims, dnnl_f32, dnnl_nchw));
    CHECK(dnnl_memory_desc_init_by_tag(&user_w, 4, w_dims, dnnl_f32, dnnl_oihw));
    CHECK(dnnl_memory_desc_init_by_tag(&bias, 1, b_dims, dnnl_f32, dnnl_x));
    CHECK(dnnl_memory_desc_init_by_tag(&user_dst, 4, dst_dims, dnnl_f32, dnnl_nchw));
    CHECK(dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, in_type, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&w_any, 4, w_dims, in_type, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any));
    const char *alg_name = getenv("ONEDNN_BENCH_CONV_ALG");
    dnnl_alg_kind_t alg = dnnl_convolution_auto;
    if (alg_name && !strcmp(alg_name, "direct")) alg = dnnl_convolution_direct;
    if (alg_name && !strcmp(alg_name, "winograd")) alg = dnnl_convolution_winograd;
    dnnl_convolution_desc_t desc;
    CHECK(dnnl_convolution_forward_desc_init(
        &desc, dnnl_forward_inference, alg, &src_any, &w_any, &bias, &dst_any, strides, padding, padding));
    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    if (st == dnnl_unimplemented && alg == dnnl_convolution_winograd) {
        // 2.6 has Winograd F(4x4,3x3) only for fp32 3x3 stride-1 on AVX-512: elsewhere take what auto takes,
        // so that one engine covers every shape.
        CHECK(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_auto, &src_any,
            &w_any, &bias, &dst_any, strides, padding, padding));
        st = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    }
    CHECK(st);
    dnnl_primitive_attr_destroy(attr);

    size_t xs = n * c * h * w, ws = o * c * k * k;
    float *x = malloc(xs * 4), *wt = malloc(ws * 4), *b = malloc(o * 4);
    int rc = -1;
    layer_t L = {0};
    if (operand(prefix, "x", x, xs, 1, 1) || operand(prefix, "w", wt, ws, 2, 1 / sqrtf((float)(c * k * k)))
        || operand(prefix, "b", b, o, 3, 0.1f))
        goto done;
    if (layer_setup(&L, pd, &user_src, &user_w, wt, &bias, b, &user_dst)) goto done;
    void *src = NULL;
    dnnl_memory_get_data_handle(L.user_src, &src);
    memcpy(src, x, xs * 4);
    rc = time_layer(&L, reps, out_path, (size_t)(n * o * ho * wo));
done:
    layer_free(&L);
    dnnl_primitive_desc_destroy(pd);
    free(x); free(wt); free(b);
    return rc;
}

// y = x Wᵀ + b with W stored [N, K] as a PyTorch linear layer's weight: the matmul's [K, N] weights are that
// matrix seen with strides (1, K).
static int linear(long m, long k, long n, int bf16, int reps, const char *prefix, const char *out_path) {
    dnnl_data_type_t in_type = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t src_dims = {m, k}, w_dims = {k, n}, b_dims = {1, n}, dst_dims = {m, n};
    dnnl_memory_desc_t user_src, user_w, bias, user_dst, src_md, w_any;
    CHECK(dnnl_memory_desc_init_by_tag(&user_src, 2, src_dims, dnnl_f32, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&user_w, 2, w_dims, dnnl_f32, dnnl_ba));
    CHECK(dnnl_memory_desc_init_by_tag(&bias, 2, b_dims, dnnl_f32, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&user_dst, 2, dst_dims, dnnl_f32, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, in_type, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&w_any, 2, w_dims, in_type, dnnl_format_tag_any));
    dnnl_matmul_desc_t desc;
    CHECK(dnnl_matmul_desc_init(&desc, &src_md, &w_any, &bias, &user_dst));
    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL));
    dnnl_primitive_attr_destroy(attr);

    float *x = malloc(m * k * 4), *wt = malloc(n * k * 4), *b = malloc(n * 4);
    int rc = -1;
    layer_t L = {0};
    if (operand(prefix, "x", x, m * k, 1, 1) || operand(prefix, "w", wt, n * k, 2, 1 / sqrtf((float)k))
        || operand(prefix, "b", b, n, 3, 0.1f))
        goto done;
    if (layer_setup(&L, pd, &user_src, &user_w, wt, &bias, b, &user_dst)) goto done;
    void *src = NULL;
    dnnl_memory_get_data_handle(L.user_src, &src);
    memcpy(src, x, m * k * 4);
    rc = time_layer(&L, reps, out_path, (size_t)(m * n));
done:
    layer_free(&L);
    dnnl_primitive_desc_destroy(pd);
    free(x); free(wt); free(b);
    return rc;
}

// softmax(Q Kᵀ / sqrt(d)) V per (batch item, head), as three primitives on strided views of the [B, L, H*D]
// projections (oneDNN 2.6 has no fused attention; this is the "math" path, with an Lq x Lk score matrix).
static int attention(long b, long heads, long lq, long lk, long d, int reps, const char *prefix,
    const char *out_path) {
    long hd = heads * d;
    dnnl_dims_t q_dims = {lq, d}, kt_dims = {d, lk}, s_dims = {lq, lk}, v_dims = {lk, d}, o_dims = {lq, d};
    dnnl_dims_t q_strides = {hd, 1}, kt_strides = {1, hd}, v_strides = {hd, 1}, o_strides = {hd, 1};
    dnnl_memory_desc_t q_md, kt_md, s_md, v_md, o_md;
    CHECK(dnnl_memory_desc_init_by_strides(&q_md, 2, q_dims, dnnl_f32, q_strides));
    CHECK(dnnl_memory_desc_init_by_strides(&kt_md, 2, kt_dims, dnnl_f32, kt_strides));
    CHECK(dnnl_memory_desc_init_by_tag(&s_md, 2, s_dims, dnnl_f32, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_strides(&v_md, 2, v_dims, dnnl_f32, v_strides));
    CHECK(dnnl_memory_desc_init_by_strides(&o_md, 2, o_dims, dnnl_f32, o_strides));
    dnnl_matmul_desc_t qk_desc, pv_desc;
    dnnl_softmax_desc_t sm_desc;
    CHECK(dnnl_matmul_desc_init(&qk_desc, &q_md, &kt_md, NULL, &s_md));
    CHECK(dnnl_matmul_desc_init(&pv_desc, &s_md, &v_md, NULL, &o_md));
    CHECK(dnnl_softmax_forward_desc_init(&sm_desc, dnnl_forward_inference, &s_md, 1));
    dnnl_primitive_attr_t qk_attr;
    dnnl_primitive_attr_create(&qk_attr);
    float scale = 1 / sqrtf((float)d);
    CHECK(dnnl_primitive_attr_set_output_scales(qk_attr, 1, 0, &scale));
    dnnl_primitive_desc_t qk_pd, pv_pd, sm_pd;
    CHECK(dnnl_primitive_desc_create(&qk_pd, &qk_desc, qk_attr, engine, NULL));
    CHECK(dnnl_primitive_desc_create(&pv_pd, &pv_desc, NULL, engine, NULL));
    CHECK(dnnl_primitive_desc_create(&sm_pd, &sm_desc, NULL, engine, NULL));
    dnnl_primitive_attr_destroy(qk_attr);
    dnnl_primitive_t qk, pv, sm;
    CHECK(dnnl_primitive_create(&qk, qk_pd));
    CHECK(dnnl_primitive_create(&pv, pv_pd));
    CHECK(dnnl_primitive_create(&sm, sm_pd));
    const char *impl = NULL;
    dnnl_primitive_desc_query(qk_pd, dnnl_query_impl_info_str, 0, &impl);

    size_t qs = b * lq * hd, ks = b * lk * hd;
    float *q = malloc(qs * 4), *k = malloc(ks * 4), *v = malloc(ks * 4), *o = malloc(qs * 4);
    float *s = malloc(lq * lk * 4);
    int rc = -1;
    if (operand(prefix, "q", q, qs, 1, 1) || operand(prefix, "k", k, ks, 2, 1) || operand(prefix, "v", v, ks, 3, 1))
        goto done;
    dnnl_memory_t mq, mk, mv, ms, mo;
    CHECK(dnnl_memory_create(&mq, &q_md, engine, q));
    CHECK(dnnl_memory_create(&mk, &kt_md, engine, k));
    CHECK(dnnl_memory_create(&mv, &v_md, engine, v));
    CHECK(dnnl_memory_create(&ms, &s_md, engine, s));
    CHECK(dnnl_memory_create(&mo, &o_md, engine, o));
    printf("ok");
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        for (long bi = 0; bi < b; bi++) {
            for (long h = 0; h < heads; h++) {
                dnnl_memory_set_data_handle(mq, q + bi * lq * hd + h * d);
                dnnl_memory_set_data_handle(mk, k + bi * lk * hd + h * d);
                dnnl_memory_set_data_handle(mv, v + bi * lk * hd + h * d);
                dnnl_memory_set_data_handle(mo, o + bi * lq * hd + h * d);
                dnnl_exec_arg_t a1[3] = {{DNNL_ARG_SRC, mq}, {DNNL_ARG_WEIGHTS, mk}, {DNNL_ARG_DST, ms}};
                dnnl_exec_arg_t a2[2] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_DST, ms}};
                dnnl_exec_arg_t a3[3] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mv}, {DNNL_ARG_DST, mo}};
                CHECK(dnnl_primitive_execute(qk, stream, 3, a1));
                CHECK(dnnl_primitive_execute(sm, stream, 2, a2));
                CHECK(dnnl_primitive_execute(pv, stream, 3, a3));
            }
        }
        CHECK(dnnl_stream_wait(stream));
        double t = now() - t0;
        if (r >= 0) printf(" %.6f,%.6f", t, t);
    }
    printf(" impl=%s\n", impl ? impl : "?");
    dnnl_memory_destroy(mq); dnnl_memory_destroy(mk); dnnl_memory_destroy(mv);
    dnnl_memory_destroy(ms); dnnl_memory_destroy(mo);
    rc = out_path ? write_floats(out_path, o, qs) : 0;
done:
    dnnl_primitive_destroy(qk); dnnl_primitive_destroy(pv); dnnl_primitive_destroy(sm);
    dnnl_primitive_desc_destroy(qk_pd); dnnl_primitive_desc_destroy(pv_pd); dnnl_primitive_desc_destroy(sm_pd);
    free(q); free(k); free(v); free(o); free(s);
    return rc;
}

static int precision(const char *s, int *bf16) {
    if (!strcmp(s, "fp32")) { *bf16 = 0; return 0; }
    if (!strcmp(s, "bf16")) { *bf16 = 1; return 0; }
    snprintf(error, sizeof error, "precision must be fp32 or bf16, got %s", s);
    return -1;
}

static int command(char **w, int nw) {
    int bf16 = 0;
    if (!strcmp(w[0], "conv") && nw >= 11) {
        if (precision(w[9], &bf16)) return -1;
        return conv(atol(w[1]), atol(w[2]), atol(w[3]), atol(w[4]), atol(w[5]), atol(w[6]), atol(w[7]),
            atol(w[8]), bf16, atoi(w[10]), nw >= 13 ? w[11] : NULL, nw >= 13 ? w[12] : NULL);
    }
    if (!strcmp(w[0], "linear") && nw >= 6) {
        if (precision(w[4], &bf16)) return -1;
        return linear(atol(w[1]), atol(w[2]), atol(w[3]), bf16, atoi(w[5]), nw >= 8 ? w[6] : NULL,
            nw >= 8 ? w[7] : NULL);
    }
    if (!strcmp(w[0], "attention") && nw >= 7) {
        return attention(atol(w[1]), atol(w[2]), atol(w[3]), atol(w[4]), atol(w[5]), atoi(w[6]),
            nw >= 9 ? w[7] : NULL, nw >= 9 ? w[8] : NULL);
    }
    snprintf(error, sizeof error, "unknown or short command '%s'", w[0]);
    return -1;
}

int main(void) {
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success
        || dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        fprintf(stderr, "cannot create a oneDNN CPU engine\n");
        return 1;
    }
    const dnnl_version_t *v = dnnl_version();
    printf("ready onednn %d.%d.%d cpu-runtime %s isa %d\n", v->major, v->minor, v->patch,
        v->cpu_runtime == DNNL_RUNTIME_OMP ? "openmp" : "other", (int)dnnl_get_effective_cpu_isa());
    fflush(stdout);
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        char *w[32];
        int nw = 0;
        for (char *t = strtok(line, " \t\n"); t && nw < 32; t = strtok(NULL, " \t\n")) w[nw++] = t;
        if (nw == 0) continue;
        if (!strcmp(w[0], "quit")) break;
        if (command(w, nw)) printf("error %s\n", error);
        fflush(stdout);
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
