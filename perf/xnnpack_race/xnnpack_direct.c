/*
 * xnnpack_direct: one model as ONE hand-built XNNPACK subgraph, timed.
 *
 *   xnnpack_direct --spec FILE --threads N --warmup W --runs R [--check OUT.npy]
 *
 * Reads a spec written by perf/xnnpack_race/direct_spec.py (its docstring
 * documents the format), builds the subgraph with xnn_define_* calls (NHWC,
 * fp32 or qs8), creates the runtime with a pthreadpool of N threads (none
 * for N = 1), sets it up once on the spec's input, runs it W times, times R
 * more runs (CLOCK_MONOTONIC) and prints one line of JSON:
 *
 *   {"model":"resnet18","threads":1,"median_ms":...,"min_ms":...,"runs_ms":[...]}
 *
 * --check writes the output of the last run as a float32 .npy (a qs8 output
 * dequantised with its scale and zero point), shape [N, C] when the output
 * is [N, 1, 1, C], else [N, H, W, C].
 *
 * An n/a spec (a model this XNNPACK cannot express) prints
 *   {"model":...,"threads":N,"median_ms":null,"min_ms":null,"runs_ms":[],"na":"REASON"}
 * and exits 0 (nothing is written for --check).
 *
 * The spec is validated in full (ids, order, shapes, blob ranges) before
 * XNNPACK sees it.  Exit status: 0 success, 1 an XNNPACK call or the system
 * failed, 2 bad usage or a bad spec; the reason is on stderr.
 *
 * qs8: convolutions use qcint8 filters (per output channel) with qcint32
 * biases.  This XNNPACK's subgraph fully connected node takes only a
 * per-tensor qint8 filter, so a qs8 fc layer is defined as the equivalent
 * 1x1 convolution on the [N, 1, 1, C] pooled tensor, which keeps the
 * per-channel weights.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getline, clock_gettime */
#endif
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthreadpool.h>
#include <xnnpack.h>

#define SPEC_VERSION 1
#define MAX_TOKENS 32
#define MAX_VALUES 100000u
#define MAX_LAYERS 100000u
#define MAX_DIM (1u << 24)
#define MAX_ELEMENTS ((size_t)1 << 31)
#define MAX_THREADS 1024
#define MAX_RUNS 1000000
#define BLOB_ALIGN 64

enum { EXIT_XNN = 1, EXIT_SPEC = 2 };

/* ------------------------------------------------------------------------ */
/* Spec                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct {
  size_t dims[4]; /* NHWC */
  float scale;
  int32_t zero_point;
  int produced;
  uint32_t xid;
} value_t;

typedef enum { L_CONV, L_MAXPOOL, L_ADD, L_GAP, L_FC } kind_t;

static const char *const kind_names[] = {"conv", "maxpool", "add", "gap", "fc"};

typedef struct {
  kind_t kind;
  int line;
  uint32_t in[2];
  uint32_t out;
  uint32_t kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups;
  float out_min, out_max;
  int64_t w_off, b_off, s_off;
} layer_t;

typedef struct {
  const char *path;
  char model[65];
  char na[512];
  int is_na;
  int qs8;
  char weights[4096];
  size_t weights_bytes;
  uint32_t num_values;
  value_t *values;
  uint32_t input_id;
  size_t input_off;
  uint32_t output_id;
  uint32_t num_layers;
  layer_t *layers;
  unsigned char *blob;
} spec_t;

static int spec_error(const spec_t *s, int line, const char *fmt, ...) {
  va_list ap;
  if (line > 0)
    fprintf(stderr, "xnnpack_direct: bad spec %s:%d: ", s->path, line);
  else
    fprintf(stderr, "xnnpack_direct: bad spec %s: ", s->path);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return EXIT_SPEC;
}

static int parse_i64(const char *tok, int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  long long v;
  errno = 0;
  v = strtoll(tok, &end, 10);
  if (errno || end == tok || *end || v < lo || v > hi) return 0;
  *out = (int64_t)v;
  return 1;
}

static int parse_u32(const char *tok, uint32_t lo, uint32_t hi, uint32_t *out) {
  int64_t v;
  if (!parse_i64(tok, lo, hi, &v)) return 0;
  *out = (uint32_t)v;
  return 1;
}

static int parse_f32(const char *tok, float *out) {
  char *end;
  float v;
  errno = 0;
  v = strtof(tok, &end);
  if (end == tok || *end || isnan(v) || errno == ERANGE) return 0;
  *out = v;
  return 1;
}

/* Splits `line` in place on blanks; returns the token count (or
 * MAX_TOKENS + 1 when there are more). */
static int tokenize(char *line, char **tok) {
  int n = 0;
  char *p = line;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (!*p) return n;
    if (n == MAX_TOKENS) return MAX_TOKENS + 1;
    tok[n++] = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') p++;
    if (*p) *p++ = '\0';
  }
}

static int valid_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '.' || *s == '-'))
      return 0;
  return 1;
}

/* The parser's position in the fixed order of records. */
typedef enum {
  S_MAGIC,
  S_MODEL,
  S_DTYPE,
  S_WEIGHTS,
  S_VALUES,
  S_VALUE,
  S_INPUT,
  S_OUTPUT,
  S_LAYERS,
  S_LAYER,
  S_END,
  S_DONE
} state_t;

static int parse_layer(spec_t *s, int line, char **tok, int n, layer_t *l) {
  /* Field counts after the kind: see direct_spec.py. */
  static const int fields[] = {18, 10, 5, 2, 7};
  int k, i;
  for (k = 0; k <= L_FC; k++)
    if (!strcmp(tok[0], kind_names[k])) break;
  if (k > L_FC) return spec_error(s, line, "unknown layer kind '%s'", tok[0]);
  if (n != fields[k] + 1)
    return spec_error(s, line, "%s takes %d fields, got %d", tok[0], fields[k], n - 1);
  memset(l, 0, sizeof *l);
  l->kind = (kind_t)k;
  l->line = line;
  l->s_off = -1;
  l->out_min = -INFINITY;
  l->out_max = INFINITY;
  i = 1;
  if (!parse_u32(tok[i++], 0, UINT32_MAX - 1, &l->in[0])) goto bad;
  if (k == L_ADD && !parse_u32(tok[i++], 0, UINT32_MAX - 1, &l->in[1])) goto bad;
  if (!parse_u32(tok[i++], 0, UINT32_MAX - 1, &l->out)) goto bad;
  if (k == L_CONV || k == L_MAXPOOL) {
    uint32_t *geo[] = {&l->kh, &l->kw, &l->sh, &l->sw, &l->pt, &l->pl, &l->pb, &l->pr};
    for (int j = 0; j < 8; j++)
      if (!parse_u32(tok[i++], j < 4 ? 1 : 0, MAX_DIM, geo[j])) goto bad;
    l->dh = l->dw = 1;
  }
  if (k == L_CONV) {
    if (!parse_u32(tok[i++], 1, MAX_DIM, &l->dh) || !parse_u32(tok[i++], 1, MAX_DIM, &l->dw) ||
        !parse_u32(tok[i++], 1, MAX_DIM, &l->groups))
      goto bad;
  }
  if (k == L_CONV || k == L_ADD || k == L_FC) {
    if (!parse_f32(tok[i++], &l->out_min) || !parse_f32(tok[i++], &l->out_max)) goto bad;
    if (!(l->out_min < l->out_max))
      return spec_error(s, line, "%s: output range [%g, %g] is empty", tok[0], (double)l->out_min,
                        (double)l->out_max);
  }
  if (k == L_CONV || k == L_FC) {
    if (!parse_i64(tok[i++], 0, INT64_MAX, &l->w_off) ||
        !parse_i64(tok[i++], 0, INT64_MAX, &l->b_off) ||
        !parse_i64(tok[i++], -1, INT64_MAX, &l->s_off))
      goto bad;
  }
  return 0;
bad:
  return spec_error(s, line, "%s: field %d ('%s') is not a valid number", tok[0], i - 1,
                    tok[i - 1]);
}

static int parse_spec(spec_t *s, FILE *f) {
  char *buf = NULL, *tok[MAX_TOKENS];
  size_t cap = 0;
  ssize_t len;
  int line = 0, rc = 0;
  uint32_t nv = 0, nl = 0;
  state_t st = S_MAGIC;
  while (rc == 0 && (len = getline(&buf, &cap, f)) >= 0) {
    int n;
    int64_t v64;
    line++;
    if ((size_t)len != strlen(buf)) {
      rc = spec_error(s, line, "NUL byte in text");
      break;
    }
    if (st == S_DTYPE && !strncmp(buf, "na ", 3)) { /* n/a: the reason is the rest */
      size_t m = strcspn(buf + 3, "\r\n");
      if (m == 0 || m >= sizeof s->na) {
        rc = spec_error(s, line, "n/a reason empty or too long");
        break;
      }
      memcpy(s->na, buf + 3, m);
      s->na[m] = '\0';
      for (size_t j = 0; j < m; j++)
        if (s->na[j] < 0x20 || s->na[j] > 0x7e)
          rc = spec_error(s, line, "n/a reason is not printable ASCII");
      s->is_na = 1;
      st = S_DONE;
      break;
    }
    n = tokenize(buf, tok);
    if (n == 0 || tok[0][0] == '#') continue;
    if (n > MAX_TOKENS) {
      rc = spec_error(s, line, "too many fields");
      break;
    }
    switch (st) {
      case S_MAGIC:
        if (n != 2 || strcmp(tok[0], "xnnpack_direct_spec"))
          rc = spec_error(s, line, "not an xnnpack_direct spec (no 'xnnpack_direct_spec 1' line)");
        else if (!parse_i64(tok[1], SPEC_VERSION, SPEC_VERSION, &v64))
          rc = spec_error(s, line, "unsupported spec version '%s' (this driver reads %d)", tok[1],
                          SPEC_VERSION);
        st = S_MODEL;
        break;
      case S_MODEL:
        if (n != 2 || strcmp(tok[0], "model") || !valid_name(tok[1]))
          rc = spec_error(s, line, "expected 'model NAME' ([A-Za-z0-9_.-], at most 64)");
        else
          strcpy(s->model, tok[1]);
        st = S_DTYPE;
        break;
      case S_DTYPE:
        if (n != 2 || strcmp(tok[0], "dtype") || (strcmp(tok[1], "fp32") && strcmp(tok[1], "qs8")))
          rc = spec_error(s, line, "expected 'dtype fp32|qs8' or 'na REASON'");
        else
          s->qs8 = !strcmp(tok[1], "qs8");
        st = S_WEIGHTS;
        break;
      case S_WEIGHTS:
        if (n != 3 || strcmp(tok[0], "weights") || strlen(tok[1]) >= sizeof s->weights - 1 ||
            !parse_i64(tok[2], 0, (int64_t)1 << 40, &v64))
          rc = spec_error(s, line, "expected 'weights FILE BYTES'");
        else {
          strcpy(s->weights, tok[1]);
          s->weights_bytes = (size_t)v64;
        }
        st = S_VALUES;
        break;
      case S_VALUES:
        if (n != 2 || strcmp(tok[0], "values") || !parse_u32(tok[1], 1, MAX_VALUES, &s->num_values))
          rc = spec_error(s, line, "expected 'values V' (1..%u)", MAX_VALUES);
        else if (!(s->values = calloc(s->num_values, sizeof *s->values)))
          rc = spec_error(s, line, "out of memory");
        st = S_VALUE;
        break;
      case S_VALUE: {
        value_t *v;
        uint32_t id, d = 0;
        if (n != 8 || strcmp(tok[0], "v") || !parse_u32(tok[1], nv, nv, &id)) {
          rc = spec_error(s, line, "expected 'v %u N H W C SCALE ZERO_POINT'", nv);
          break;
        }
        v = &s->values[nv];
        for (int j = 0; j < 4 && rc == 0; j++) {
          if (parse_u32(tok[2 + j], 1, MAX_DIM, &d))
            v->dims[j] = d;
          else
            rc = spec_error(s, line, "value %u: dimension '%s' not in 1..%u", id, tok[2 + j],
                            MAX_DIM);
        }
        if (rc) break;
        if (v->dims[0] * v->dims[1] > MAX_ELEMENTS / v->dims[2] / v->dims[3]) {
          rc = spec_error(s, line, "value %u has too many elements", id);
          break;
        }
        if (!parse_f32(tok[6], &v->scale) || !isfinite(v->scale) || !(v->scale > 0.0f) ||
            !parse_i64(tok[7], -128, 127, &v64)) {
          rc = spec_error(s, line,
                          "value %u: scale must be finite and > 0, zero point in [-128, 127]", id);
          break;
        }
        v->zero_point = (int32_t)v64;
        if (++nv == s->num_values) st = S_INPUT;
        break;
      }
      case S_INPUT:
        if (n != 3 || strcmp(tok[0], "input") ||
            !parse_u32(tok[1], 0, s->num_values - 1, &s->input_id) ||
            !parse_i64(tok[2], 0, INT64_MAX, &v64))
          rc = spec_error(s, line, "expected 'input ID OFFSET' (ID < %u)", s->num_values);
        else
          s->input_off = (size_t)v64;
        st = S_OUTPUT;
        break;
      case S_OUTPUT:
        if (n != 2 || strcmp(tok[0], "output") ||
            !parse_u32(tok[1], 0, s->num_values - 1, &s->output_id))
          rc = spec_error(s, line, "expected 'output ID' (ID < %u)", s->num_values);
        st = S_LAYERS;
        break;
      case S_LAYERS:
        if (n != 2 || strcmp(tok[0], "layers") || !parse_u32(tok[1], 1, MAX_LAYERS, &s->num_layers))
          rc = spec_error(s, line, "expected 'layers L' (1..%u)", MAX_LAYERS);
        else if (!(s->layers = calloc(s->num_layers, sizeof *s->layers)))
          rc = spec_error(s, line, "out of memory");
        st = S_LAYER;
        break;
      case S_LAYER:
        if (!strcmp(tok[0], "end")) {
          rc = spec_error(s, line, "'end' after %u of %u layers", nl, s->num_layers);
          break;
        }
        rc = parse_layer(s, line, tok, n, &s->layers[nl]);
        if (++nl == s->num_layers) st = S_END;
        break;
      case S_END:
        if (n != 1 || strcmp(tok[0], "end"))
          rc = spec_error(s, line, "expected 'end' after the layers");
        st = S_DONE;
        break;
      case S_DONE:
        rc = spec_error(s, line, "text after 'end'");
        break;
    }
  }
  free(buf);
  if (rc == 0 && ferror(f)) rc = spec_error(s, 0, "read error: %s", strerror(errno));
  if (rc == 0 && st != S_DONE) rc = spec_error(s, 0, "truncated (ends before 'end')");
  return rc;
}

/* Bytes of one element of a tensor of this spec. */
static size_t act_elem(const spec_t *s) {
  return s->qs8 ? 1 : 4;
}

static size_t numel(const value_t *v) {
  return v->dims[0] * v->dims[1] * v->dims[2] * v->dims[3];
}

static int check_range(const spec_t *s, const layer_t *l, const char *what, int64_t off,
                       size_t bytes, size_t align) {
  if (off < 0 || (uint64_t)off > s->weights_bytes || bytes > s->weights_bytes - (size_t)off)
    return spec_error(s, l->line, "%s %s: [%lld, +%zu) lies outside the %zu-byte weights",
                      kind_names[l->kind], what, (long long)off, bytes, s->weights_bytes);
  if ((size_t)off % align)
    return spec_error(s, l->line, "%s %s: offset %lld not %zu-byte aligned", kind_names[l->kind],
                      what, (long long)off, align);
  return 0;
}

static int check_scales(const spec_t *s, const layer_t *l, size_t count) {
  const float *sc = (const float *)(s->blob + l->s_off);
  for (size_t c = 0; c < count; c++)
    if (!isfinite(sc[c]) || !(sc[c] > 0.0f))
      return spec_error(s, l->line, "%s: weight scale %zu is %g (must be finite and > 0)",
                        kind_names[l->kind], c, (double)sc[c]);
  return 0;
}

/* Weights, bias (and qs8 scales) of a conv or fc layer: in the blob. */
static int check_weights(const spec_t *s, const layer_t *l, size_t cout, size_t per_out) {
  int rc;
  if (per_out > MAX_ELEMENTS / cout)
    return spec_error(s, l->line, "%s: weights too large", kind_names[l->kind]);
  if ((rc = check_range(s, l, "weights", l->w_off, cout * per_out * act_elem(s), act_elem(s))) ||
      (rc = check_range(s, l, "bias", l->b_off, cout * 4, 4)))
    return rc;
  if (!s->qs8) {
    if (l->s_off != -1)
      return spec_error(s, l->line, "%s: fp32 layers have no weight scales (S must be -1)",
                        kind_names[l->kind]);
    return 0;
  }
  if ((rc = check_range(s, l, "weight scales", l->s_off, cout * 4, 4))) return rc;
  return check_scales(s, l, cout);
}

static int same_dims(const value_t *a, const size_t *d) {
  return a->dims[0] == d[0] && a->dims[1] == d[1] && a->dims[2] == d[2] && a->dims[3] == d[3];
}

/* Spatial output extent of a window op; 0 when the window does not fit. */
static size_t out_extent(size_t in, uint32_t pad0, uint32_t pad1, uint32_t k, uint32_t dil,
                         uint32_t stride) {
  size_t padded = in + pad0 + pad1, eff = (size_t)dil * (k - 1) + 1;
  return padded < eff ? 0 : (padded - eff) / stride + 1;
}

static int shape_error(const spec_t *s, const layer_t *l, const value_t *o, const size_t *want) {
  return spec_error(s, l->line,
                    "%s: output value %u is [%zu,%zu,%zu,%zu], expected [%zu,%zu,%zu,%zu]",
                    kind_names[l->kind], l->out, o->dims[0], o->dims[1], o->dims[2], o->dims[3],
                    want[0], want[1], want[2], want[3]);
}

static int validate(spec_t *s) {
  size_t in_bytes;
  int rc;
  value_t *x = &s->values[s->input_id];
  in_bytes = numel(x) * act_elem(s);
  if ((uint64_t)s->input_off > s->weights_bytes || in_bytes > s->weights_bytes - s->input_off ||
      s->input_off % 4)
    return spec_error(s, 0, "input data [%zu, +%zu) lies outside the weights or is misaligned",
                      s->input_off, in_bytes);
  x->produced = 1;
  for (uint32_t i = 0; i < s->num_layers; i++) {
    layer_t *l = &s->layers[i];
    int nin = l->kind == L_ADD ? 2 : 1;
    value_t *a, *o;
    size_t want[4];
    for (int j = 0; j < nin; j++) {
      if (l->in[j] >= s->num_values)
        return spec_error(s, l->line, "%s: input value %u does not exist", kind_names[l->kind],
                          l->in[j]);
      if (!s->values[l->in[j]].produced)
        return spec_error(s, l->line, "%s: input value %u is used before any layer produces it",
                          kind_names[l->kind], l->in[j]);
    }
    if (l->out >= s->num_values)
      return spec_error(s, l->line, "%s: output value %u does not exist", kind_names[l->kind],
                        l->out);
    o = &s->values[l->out];
    if (o->produced)
      return spec_error(s, l->line,
                        "%s: value %u is already produced (graph input or another layer)",
                        kind_names[l->kind], l->out);
    a = &s->values[l->in[0]];
    memcpy(want, a->dims, sizeof want);
    switch (l->kind) {
      case L_CONV: {
        size_t cin = a->dims[3], cout = o->dims[3];
        if (cin % l->groups || cout % l->groups)
          return spec_error(s, l->line,
                            "conv: %u groups do not divide %zu input / %zu output channels",
                            l->groups, cin, cout);
        want[1] = out_extent(a->dims[1], l->pt, l->pb, l->kh, l->dh, l->sh);
        want[2] = out_extent(a->dims[2], l->pl, l->pr, l->kw, l->dw, l->sw);
        want[3] = cout;
        if (!want[1] || !want[2] || !same_dims(o, want)) return shape_error(s, l, o, want);
        if ((size_t)l->kh * l->kw > MAX_ELEMENTS / (cin / l->groups))
          return spec_error(s, l->line, "conv: a %ux%u window over %zu channels is too large",
                            l->kh, l->kw, cin / l->groups);
        if ((rc = check_weights(s, l, cout, (size_t)l->kh * l->kw * (cin / l->groups)))) return rc;
        break;
      }
      case L_MAXPOOL:
        want[1] = out_extent(a->dims[1], l->pt, l->pb, l->kh, 1, l->sh);
        want[2] = out_extent(a->dims[2], l->pl, l->pr, l->kw, 1, l->sw);
        if (!want[1] || !want[2] || !same_dims(o, want)) return shape_error(s, l, o, want);
        if (l->pt >= l->kh || l->pb >= l->kh || l->pl >= l->kw || l->pr >= l->kw)
          return spec_error(s, l->line, "maxpool: padding must be smaller than the window");
        if (s->qs8 && (o->scale != a->scale || o->zero_point != a->zero_point))
          return spec_error(s, l->line,
                            "maxpool: qs8 output must share the input's scale and zero point");
        break;
      case L_ADD:
        if (!same_dims(&s->values[l->in[1]], a->dims))
          return spec_error(s, l->line, "add: inputs %u and %u differ in shape", l->in[0],
                            l->in[1]);
        if (!same_dims(o, want)) return shape_error(s, l, o, want);
        break;
      case L_GAP:
        want[1] = want[2] = 1;
        if (!same_dims(o, want)) return shape_error(s, l, o, want);
        break;
      case L_FC:
        if (a->dims[1] != 1 || a->dims[2] != 1)
          return spec_error(s, l->line, "fc: input value %u must be [N, 1, 1, C]", l->in[0]);
        want[3] = o->dims[3];
        if (!same_dims(o, want)) return shape_error(s, l, o, want);
        if ((rc = check_weights(s, l, o->dims[3], a->dims[3]))) return rc;
        break;
    }
    o->produced = 1;
  }
  if (s->output_id == s->input_id || !s->values[s->output_id].produced)
    return spec_error(s, 0, "output value %u is not produced by any layer", s->output_id);
  return 0;
}

static int load_blob(spec_t *s) {
  char path[8192];
  const char *slash = strrchr(s->path, '/');
  FILE *f;
  long size;
  size_t alloc;
  if (s->weights[0] == '/' || !slash)
    snprintf(path, sizeof path, "%s", s->weights);
  else
    snprintf(path, sizeof path, "%.*s/%s", (int)(slash - s->path), s->path, s->weights);
  if (!(f = fopen(path, "rb")))
    return spec_error(s, 0, "cannot open weights %s: %s", path, strerror(errno));
  if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
    fclose(f);
    return spec_error(s, 0, "cannot size weights %s", path);
  }
  if ((size_t)size != s->weights_bytes) {
    fclose(f);
    return spec_error(s, 0, "weights %s has %ld bytes, the spec says %zu", path, size,
                      s->weights_bytes);
  }
  alloc = (s->weights_bytes + BLOB_ALIGN) / BLOB_ALIGN * BLOB_ALIGN;
  if (!(s->blob = aligned_alloc(BLOB_ALIGN, alloc))) {
    fclose(f);
    return spec_error(s, 0, "out of memory for %zu bytes of weights", s->weights_bytes);
  }
  if (fread(s->blob, 1, s->weights_bytes, f) != s->weights_bytes) {
    fclose(f);
    return spec_error(s, 0, "short read of weights %s", path);
  }
  fclose(f);
  return 0;
}

static void spec_free(spec_t *s) {
  free(s->values);
  free(s->layers);
  free(s->blob);
}

/* ------------------------------------------------------------------------ */
/* Subgraph                                                                 */
/* ------------------------------------------------------------------------ */

static const char *status_name(enum xnn_status st) {
  switch (st) {
    case xnn_status_success:
      return "success";
    case xnn_status_uninitialized:
      return "uninitialized";
    case xnn_status_invalid_parameter:
      return "invalid parameter";
    case xnn_status_invalid_state:
      return "invalid state";
    case xnn_status_unsupported_parameter:
      return "unsupported parameter";
    case xnn_status_unsupported_hardware:
      return "unsupported hardware";
    case xnn_status_out_of_memory:
      return "out of memory";
  }
  return "unknown status";
}

static int xnn_failed(const char *call, const layer_t *l, enum xnn_status st) {
  if (l)
    fprintf(stderr, "xnnpack_direct: %s failed for the %s layer on spec line %d: %s (%d)\n", call,
            kind_names[l->kind], l->line, status_name(st), (int)st);
  else
    fprintf(stderr, "xnnpack_direct: %s failed: %s (%d)\n", call, status_name(st), (int)st);
  return EXIT_XNN;
}

/* Per-channel bias scales (in_scale * w_scale[c]) outlive the subgraph and
 * runtime: XNNPACK keeps the pointer.  One block per qs8 conv/fc layer. */
typedef struct {
  float **blocks;
  size_t count;
} scales_t;

static float *bias_scales(scales_t *keep, const float *w_scale, float in_scale, size_t cout) {
  float *b = malloc(cout * sizeof *b);
  float **grown = realloc(keep->blocks, (keep->count + 1) * sizeof *grown);
  if (!b || !grown) {
    free(b);
    if (grown) keep->blocks = grown;
    return NULL;
  }
  keep->blocks = grown;
  keep->blocks[keep->count++] = b;
  for (size_t c = 0; c < cout; c++) b[c] = in_scale * w_scale[c];
  return b;
}

static enum xnn_status define_value(xnn_subgraph_t g, const spec_t *s, value_t *v,
                                    uint32_t external_id, uint32_t flags) {
  if (s->qs8)
    return xnn_define_quantized_tensor_value(g, xnn_datatype_qint8, v->zero_point, v->scale, 4,
                                             v->dims, NULL, external_id, flags, &v->xid);
  return xnn_define_tensor_value(g, xnn_datatype_fp32, 4, v->dims, NULL, external_id, flags,
                                 &v->xid);
}

/* Filter and bias values of a conv (filter [cout, kh, kw, cin_g]) or fp32
 * fc (filter [cout, cin]) layer. */
static int define_params(xnn_subgraph_t g, const spec_t *s, const layer_t *l, size_t rank,
                         const size_t *wdims, scales_t *keep, uint32_t *w_id, uint32_t *b_id) {
  const void *w = s->blob + l->w_off, *b = s->blob + l->b_off;
  size_t cout = wdims[0];
  enum xnn_status st;
  if (!s->qs8) {
    st = xnn_define_tensor_value(g, xnn_datatype_fp32, rank, wdims, w, XNN_INVALID_VALUE_ID, 0,
                                 w_id);
    if (st == xnn_status_success)
      st =
          xnn_define_tensor_value(g, xnn_datatype_fp32, 1, &cout, b, XNN_INVALID_VALUE_ID, 0, b_id);
  } else {
    const float *w_scale = (const float *)(s->blob + l->s_off);
    const float *b_scale = bias_scales(keep, w_scale, s->values[l->in[0]].scale, cout);
    if (!b_scale) {
      fprintf(stderr, "xnnpack_direct: out of memory\n");
      return EXIT_XNN;
    }
    st = xnn_define_channelwise_quantized_tensor_value(g, xnn_datatype_qcint8, w_scale, rank, 0,
                                                       wdims, w, XNN_INVALID_VALUE_ID, 0, w_id);
    if (st == xnn_status_success)
      st = xnn_define_channelwise_quantized_tensor_value(g, xnn_datatype_qcint32, b_scale, 1, 0,
                                                         &cout, b, XNN_INVALID_VALUE_ID, 0, b_id);
  }
  return st == xnn_status_success ? 0 : xnn_failed("defining weights", l, st);
}

static int define_layer(xnn_subgraph_t g, const spec_t *s, const layer_t *l, scales_t *keep) {
  const value_t *a = &s->values[l->in[0]], *o = &s->values[l->out];
  uint32_t w_id, b_id;
  enum xnn_status st;
  int rc;
  switch (l->kind) {
    case L_CONV: {
      size_t cin_g = a->dims[3] / l->groups, wdims[4] = {o->dims[3], l->kh, l->kw, cin_g};
      if ((rc = define_params(g, s, l, 4, wdims, keep, &w_id, &b_id))) return rc;
      st = xnn_define_convolution_2d(g, l->pt, l->pr, l->pb, l->pl, l->kh, l->kw, l->sh, l->sw,
                                     l->dh, l->dw, l->groups, cin_g, o->dims[3] / l->groups,
                                     l->out_min, l->out_max, a->xid, w_id, b_id, o->xid, 0);
      return st == xnn_status_success ? 0 : xnn_failed("xnn_define_convolution_2d", l, st);
    }
    case L_FC: {
      if (s->qs8) { /* 1x1 convolution: keeps the per-channel (qcint8) filter */
        size_t wdims[4] = {o->dims[3], 1, 1, a->dims[3]};
        if ((rc = define_params(g, s, l, 4, wdims, keep, &w_id, &b_id))) return rc;
        st = xnn_define_convolution_2d(g, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, a->dims[3], o->dims[3],
                                       l->out_min, l->out_max, a->xid, w_id, b_id, o->xid, 0);
        return st == xnn_status_success ? 0
                                        : xnn_failed("xnn_define_convolution_2d (qs8 fc)", l, st);
      } else {
        size_t wdims[2] = {o->dims[3], a->dims[3]};
        if ((rc = define_params(g, s, l, 2, wdims, keep, &w_id, &b_id))) return rc;
        st = xnn_define_fully_connected(g, l->out_min, l->out_max, a->xid, w_id, b_id, o->xid, 0);
        return st == xnn_status_success ? 0 : xnn_failed("xnn_define_fully_connected", l, st);
      }
    }
    case L_MAXPOOL:
      st = xnn_define_max_pooling_2d(g, l->pt, l->pr, l->pb, l->pl, l->kh, l->kw, l->sh, l->sw, 1,
                                     1, -INFINITY, INFINITY, a->xid, o->xid, 0);
      return st == xnn_status_success ? 0 : xnn_failed("xnn_define_max_pooling_2d", l, st);
    case L_ADD:
      st = xnn_define_add2(g, l->out_min, l->out_max, a->xid, s->values[l->in[1]].xid, o->xid, 0);
      return st == xnn_status_success ? 0 : xnn_failed("xnn_define_add2", l, st);
    case L_GAP:
      st = xnn_define_global_average_pooling_2d(g, -INFINITY, INFINITY, a->xid, o->xid, 0);
      return st == xnn_status_success ? 0
                                      : xnn_failed("xnn_define_global_average_pooling_2d", l, st);
  }
  return EXIT_XNN;
}

static int build_subgraph(const spec_t *s, scales_t *keep, xnn_subgraph_t *out) {
  xnn_subgraph_t g;
  enum xnn_status st = xnn_create_subgraph(2, 0, &g);
  int rc = 0;
  if (st != xnn_status_success) return xnn_failed("xnn_create_subgraph", NULL, st);
  for (uint32_t i = 0; i < s->num_values && rc == 0; i++) {
    value_t *v = &s->values[i];
    if (i == s->input_id)
      st = define_value(g, s, v, 0, XNN_VALUE_FLAG_EXTERNAL_INPUT);
    else if (i == s->output_id)
      st = define_value(g, s, v, 1, XNN_VALUE_FLAG_EXTERNAL_OUTPUT);
    else
      st = define_value(g, s, v, XNN_INVALID_VALUE_ID, 0);
    if (st != xnn_status_success) rc = xnn_failed("defining a tensor value", NULL, st);
  }
  for (uint32_t i = 0; i < s->num_layers && rc == 0; i++)
    rc = define_layer(g, s, &s->layers[i], keep);
  if (rc) {
    xnn_delete_subgraph(g);
    return rc;
  }
  *out = g;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

static int write_npy(const char *path, const float *data, const size_t *shape, int rank) {
  char header[256];
  int len, total;
  FILE *f;
  size_t n = 1;
  if (rank == 2)
    len = snprintf(header, sizeof header,
                   "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", shape[0],
                   shape[1]);
  else
    len = snprintf(header, sizeof header,
                   "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu, %zu, %zu), }",
                   shape[0], shape[1], shape[2], shape[3]);
  total = (10 + len + 1 + 63) / 64 * 64; /* magic+version+len, dict, '\n': a multiple of 64 */
  memset(header + len, ' ', (size_t)(total - 10 - len - 1));
  header[total - 10 - 1] = '\n';
  for (int i = 0; i < rank; i++) n *= shape[i];
  if (!(f = fopen(path, "wb"))) {
    fprintf(stderr, "xnnpack_direct: cannot write %s: %s\n", path, strerror(errno));
    return EXIT_XNN;
  }
  {
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)((total - 10) & 0xff),
                             (unsigned char)((total - 10) >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 ||
        fwrite(header, 1, (size_t)(total - 10), f) != (size_t)(total - 10) ||
        fwrite(data, sizeof *data, n, f) != n) {
      fclose(f);
      fprintf(stderr, "xnnpack_direct: short write to %s\n", path);
      return EXIT_XNN;
    }
  }
  if (fclose(f)) {
    fprintf(stderr, "xnnpack_direct: cannot write %s: %s\n", path, strerror(errno));
    return EXIT_XNN;
  }
  return 0;
}

static int write_check(const char *path, const spec_t *s, const void *out) {
  const value_t *o = &s->values[s->output_id];
  size_t n = numel(o), shape[4];
  float *f = malloc(n * sizeof *f);
  int rc, rank;
  if (!f) {
    fprintf(stderr, "xnnpack_direct: out of memory\n");
    return EXIT_XNN;
  }
  if (s->qs8)
    for (size_t i = 0; i < n; i++)
      f[i] = ((float)((const int8_t *)out)[i] - (float)o->zero_point) * o->scale;
  else
    memcpy(f, out, n * sizeof *f);
  if (o->dims[1] == 1 && o->dims[2] == 1) {
    rank = 2;
    shape[0] = o->dims[0];
    shape[1] = o->dims[3];
  } else {
    rank = 4;
    memcpy(shape, o->dims, sizeof shape);
  }
  rc = write_npy(path, f, shape, rank);
  free(f);
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */
/* ------------------------------------------------------------------------ */

static int usage(const char *msg) {
  fprintf(stderr,
          "xnnpack_direct: %s\nusage: xnnpack_direct --spec FILE --threads N --warmup W --runs R "
          "[--check OUT.npy]\n",
          msg);
  return EXIT_SPEC;
}

static int run(const spec_t *s, int threads, int warmup, int runs, const char *check) {
  const value_t *x = &s->values[s->input_id], *o = &s->values[s->output_id];
  size_t in_bytes = numel(x) * act_elem(s), out_bytes = numel(o) * (s->qs8 ? 1 : 4);
  scales_t keep = {NULL, 0};
  xnn_subgraph_t g = NULL;
  xnn_runtime_t rt = NULL;
  pthreadpool_t pool = NULL;
  void *in = NULL, *out = NULL;
  double *ms = NULL, *sorted = NULL;
  enum xnn_status st;
  int rc = 0;

  in = malloc(in_bytes + XNN_EXTRA_BYTES);
  out = malloc(out_bytes + XNN_EXTRA_BYTES);
  ms = malloc((size_t)runs * sizeof *ms);
  sorted = malloc((size_t)runs * sizeof *sorted);
  if (!in || !out || !ms || !sorted) {
    fprintf(stderr, "xnnpack_direct: out of memory\n");
    rc = EXIT_XNN;
    goto done;
  }
  memcpy(in, s->blob + s->input_off, in_bytes);
  memset((char *)in + in_bytes, 0, XNN_EXTRA_BYTES);
  if ((rc = build_subgraph(s, &keep, &g))) goto done;
  if (threads > 1 && !(pool = pthreadpool_create((size_t)threads))) {
    fprintf(stderr, "xnnpack_direct: pthreadpool_create(%d) failed\n", threads);
    rc = EXIT_XNN;
    goto done;
  }
  if ((st = xnn_create_runtime_v2(g, pool, 0, &rt)) != xnn_status_success) {
    rc = xnn_failed("xnn_create_runtime_v2", NULL, st);
    goto done;
  }
  {
    struct xnn_external_value ext[2] = {{x->xid, in}, {o->xid, out}};
    if ((st = xnn_setup_runtime(rt, 2, ext)) != xnn_status_success) {
      rc = xnn_failed("xnn_setup_runtime", NULL, st);
      goto done;
    }
  }
  for (int i = 0; i < warmup + runs; i++) {
    double t0 = now_ms();
    if ((st = xnn_invoke_runtime(rt)) != xnn_status_success) {
      rc = xnn_failed("xnn_invoke_runtime", NULL, st);
      goto done;
    }
    if (i >= warmup) ms[i - warmup] = now_ms() - t0;
  }
  memcpy(sorted, ms, (size_t)runs * sizeof *ms);
  qsort(sorted, (size_t)runs, sizeof *sorted, cmp_double);
  printf("{\"model\":\"%s\",\"threads\":%d,\"median_ms\":%.4f,\"min_ms\":%.4f,\"runs_ms\":[",
         s->model, threads,
         runs % 2 ? sorted[runs / 2] : 0.5 * (sorted[runs / 2 - 1] + sorted[runs / 2]), sorted[0]);
  for (int i = 0; i < runs; i++) printf("%s%.4f", i ? "," : "", ms[i]);
  printf("]}\n");
  if (check) rc = write_check(check, s, out);
done:
  if (rt) xnn_delete_runtime(rt);
  if (g) xnn_delete_subgraph(g);
  if (pool) pthreadpool_destroy(pool);
  for (size_t i = 0; i < keep.count; i++) free(keep.blocks[i]);
  free(keep.blocks);
  free(in);
  free(out);
  free(ms);
  free(sorted);
  return rc;
}

int main(int argc, char **argv) {
  const char *spec_path = NULL, *check = NULL;
  int64_t threads = -1, warmup = -1, runs = -1;
  spec_t s;
  FILE *f;
  enum xnn_status st;
  int rc;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) return usage("every option takes a value");
    if (!strcmp(a, "--spec"))
      spec_path = argv[++i];
    else if (!strcmp(a, "--check"))
      check = argv[++i];
    else if (!strcmp(a, "--threads")) {
      if (!parse_i64(argv[++i], 1, MAX_THREADS, &threads))
        return usage("--threads must be 1..1024");
    } else if (!strcmp(a, "--warmup")) {
      if (!parse_i64(argv[++i], 0, MAX_RUNS, &warmup)) return usage("--warmup must be 0..1000000");
    } else if (!strcmp(a, "--runs")) {
      if (!parse_i64(argv[++i], 1, MAX_RUNS, &runs)) return usage("--runs must be 1..1000000");
    } else {
      return usage("unknown option");
    }
  }
  if (!spec_path || threads < 0 || warmup < 0 || runs < 0)
    return usage("--spec, --threads, --warmup and --runs are required");

  memset(&s, 0, sizeof s);
  s.path = spec_path;
  if (!(f = fopen(spec_path, "r"))) {
    fprintf(stderr, "xnnpack_direct: cannot open spec %s: %s\n", spec_path, strerror(errno));
    return EXIT_SPEC;
  }
  rc = parse_spec(&s, f);
  fclose(f);
  if (rc == 0 && s.is_na) {
    printf(
        "{\"model\":\"%s\",\"threads\":%d,\"median_ms\":null,\"min_ms\":null,\"runs_ms\":[],\"na\":"
        "\"",
        s.model, (int)threads);
    for (const char *p = s.na; *p; p++) {
      if (*p == '"' || *p == '\\') putchar('\\');
      putchar(*p);
    }
    printf("\"}\n");
    spec_free(&s);
    return 0;
  }
  if (rc == 0) rc = load_blob(&s);
  if (rc == 0) rc = validate(&s);
  if (rc == 0) {
    if ((st = xnn_initialize(NULL)) != xnn_status_success)
      rc = xnn_failed("xnn_initialize", NULL, st);
    else {
      rc = run(&s, (int)threads, (int)warmup, (int)runs, check);
      xnn_deinitialize();
    }
  }
  spec_free(&s);
  return rc;
}
