/*
 * graph_case.c — graph cases: a TSV of programs with their inputs and
 * tolerances, and one graph case in the child process (conform.h).
 *
 * The TSV has a header line naming its columns (any order; others are
 * ignored): name, program, inputs, rtol, atol and, optionally, tags,
 * backends and options. `program` is a program file, `inputs`
 * comma-separated .npy files (one per program input, in order; empty for
 * none), both relative to the TSV's folder. `tags` is free text.
 * `backends` names further backends (comma-separated names or plugin
 * paths) registered after the run's --backend ones, at lower priority —
 * a companion taking what the backend under test leaves; `options` is
 * ';'-separated KEY=VALUE (typed as --option) added for this case (a key
 * the run also sets takes the case's value). A case is "unsupported" when
 * the run's own backends took no node. Blank lines and lines starting
 * with '#' are skipped.
 *
 * A graph case is lowered for the run's backends and run with the debug
 * checks; the unlowered program runs on the portable kernels; every
 * output is compared: floating-point elements |got - want| <= atol +
 * rtol * |want| (NaN meets NaN, infinities equal), integer elements equal
 * or, when atol >= 1, within atol (quantized int8/uint8 results may be a
 * rounding step off), bools equal.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "kernel_util.h" /* element loads, shared with the portable kernels */
#include "npy.h"

#define MAX_GRAPH_INPUTS 64
#define MAX_GRAPH_OUTPUTS 256

/* ---- the TSV --------------------------------------------------------------- */

void ddk_conform_graphs_free(ddk_conform_graph_file* f) {
  for (uint32_t i = 0; f->cases != NULL && i < f->count; ++i) {
    ddk_conform_graph_case* g = &f->cases[i];
    free(g->name);
    free(g->tags);
    free(g->program);
    free(g->program_path);
    for (uint32_t k = 0; k < g->num_inputs; ++k) {
      free(g->inputs[k]);
      free(g->input_paths[k]);
    }
    free(g->inputs);
    free(g->input_paths);
    for (uint32_t k = 0; k < g->num_backends; ++k) free(g->backends[k]);
    free(g->options_text);
  }
  free(f->cases);
  memset(f, 0, sizeof *f);
}

/* Splits `line` at tabs in place; returns the field count (at most cap). */
static int split_tabs(char* line, char** fields, int cap) {
  int n = 0;
  for (char* p = line; n < cap;) {
    fields[n++] = p;
    char* tab = strchr(p, '\t');
    if (tab == NULL) break;
    *tab = '\0';
    p = tab + 1;
  }
  return n;
}

static char* dup_str(const char* s) {
  size_t n = strlen(s) + 1;
  char* d = malloc(n);
  if (d != NULL) memcpy(d, s, n);
  return d;
}

static char* dup_trimmed(const char* s, size_t n) {
  while (n > 0 && (*s == ' ')) ++s, --n;
  while (n > 0 && s[n - 1] == ' ') --n;
  char* d = malloc(n + 1);
  if (d == NULL) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static bool parse_tol(const char* s, double* out) {
  char* end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0) return false;
  *out = v;
  return true;
}

/* The optional columns: further backends (comma-separated) and options
 * (';'-separated KEY=VALUE). */
static bool read_extras(const char* backends, const char* options, ddk_conform_graph_case* g,
                        char* why, size_t cap) {
  for (const char* p = backends; *p != '\0';) {
    const char* comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (g->num_backends == DDK_CONFORM_MAX_BACKENDS) {
      snprintf(why, cap, "more than %d backends", DDK_CONFORM_MAX_BACKENDS);
      return false;
    }
    char* b = dup_trimmed(p, n);
    if (b == NULL) {
      snprintf(why, cap, "out of memory");
      return false;
    }
    if (b[0] == '\0')
      free(b);
    else
      g->backends[g->num_backends++] = b;
    p += n;
    if (*p == ',') ++p;
  }
  g->options_text = dup_str(options);
  if (g->options_text == NULL) {
    snprintf(why, cap, "out of memory");
    return false;
  }
  for (char* p = g->options_text; *p != '\0';) {
    char* semi = strchr(p, ';');
    if (semi != NULL) *semi = '\0';
    if (*p != '\0') {
      if (g->num_options == DDK_CONFORM_MAX_OPTIONS) {
        snprintf(why, cap, "more than %d options", DDK_CONFORM_MAX_OPTIONS);
        return false;
      }
      if (!ddk_conform_option_parse(p, &g->options[g->num_options])) {
        snprintf(why, cap, "option '%s' is not KEY=VALUE", p);
        return false;
      }
      ++g->num_options;
    }
    if (semi == NULL) break;
    p = semi + 1;
  }
  return true;
}

/* Fills row `g` from its fields; false with a message. */
static bool read_row(const char* dir, char** fld, const int* col, const char* tags,
                     ddk_conform_graph_case* g, char* why, size_t cap) {
  if (fld[col[0]][0] == '\0') {
    snprintf(why, cap, "empty name");
    return false;
  }
  if (fld[col[1]][0] == '\0') {
    snprintf(why, cap, "empty program");
    return false;
  }
  if (!parse_tol(fld[col[3]], &g->rtol) || !parse_tol(fld[col[4]], &g->atol)) {
    snprintf(why, cap, "rtol '%s' / atol '%s' must be finite numbers >= 0", fld[col[3]],
             fld[col[4]]);
    return false;
  }
  g->name = dup_str(fld[col[0]]);
  g->program = dup_str(fld[col[1]]);
  g->program_path = ddk_conform_path_join(dir, fld[col[1]]);
  g->tags = dup_str(tags);
  g->inputs = calloc(MAX_GRAPH_INPUTS, sizeof(char*));
  g->input_paths = calloc(MAX_GRAPH_INPUTS, sizeof(char*));
  if (!g->name || !g->program || !g->program_path || !g->tags || !g->inputs || !g->input_paths) {
    snprintf(why, cap, "out of memory");
    return false;
  }
  for (const char* p = fld[col[2]]; *p != '\0';) {
    const char* comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (g->num_inputs == MAX_GRAPH_INPUTS) {
      snprintf(why, cap, "more than %d inputs", MAX_GRAPH_INPUTS);
      return false;
    }
    char* rel = dup_trimmed(p, n);
    if (rel == NULL) {
      snprintf(why, cap, "out of memory");
      return false;
    }
    g->inputs[g->num_inputs] = rel;
    g->input_paths[g->num_inputs] = ddk_conform_path_join(dir, rel);
    if (rel[0] == '\0' || g->input_paths[g->num_inputs] == NULL) {
      ++g->num_inputs;
      snprintf(why, cap, "an empty input path");
      return false;
    }
    ++g->num_inputs;
    p += n;
    if (*p == ',') ++p;
  }
  return true;
}

bool ddk_conform_graphs_read(const char* path, ddk_conform_graph_file* out, char* err,
                             size_t err_cap) {
  static const char* const kColumns[8] = {"name", "program", "inputs",   "rtol",
                                          "atol", "tags",    "backends", "options"};
  memset(out, 0, sizeof *out);
  FILE* fp = fopen(path, "rb");
  if (fp == NULL) {
    snprintf(err, err_cap, "cannot open graph file %s", path);
    return false;
  }
  char* dir = ddk_conform_path_dir(path);
  char* line = malloc(1 << 16);
  uint32_t cap = 0;
  int col[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
  int need = 0; /* fields a row must have: up to the last required column */
  bool ok = dir != NULL && line != NULL;
  if (!ok) snprintf(err, err_cap, "out of memory");
  for (unsigned lineno = 1; ok && fgets(line, 1 << 16, fp) != NULL; ++lineno) {
    size_t n = strlen(line);
    if (n == (1u << 16) - 1 && line[n - 1] != '\n') {
      snprintf(err, err_cap, "%s:%u: line too long", path, lineno);
      ok = false;
      break;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    char* fld[64];
    if (col[0] < 0) { /* the header */
      int nf = split_tabs(line, fld, 64);
      for (int c = 0; c < 8; ++c)
        for (int k = 0; k < nf; ++k)
          if (strcmp(fld[k], kColumns[c]) == 0) col[c] = k;
      for (int c = 0; c < 5 && ok; ++c) {
        if (col[c] < 0) {
          snprintf(err, err_cap, "%s:1: the header lacks the column '%s'", path, kColumns[c]);
          ok = false;
        }
        if (col[c] + 1 > need) need = col[c] + 1;
      }
      continue;
    }
    if (n == 0 || line[0] == '#') continue;
    int nf = split_tabs(line, fld, 64);
    if (nf < need) {
      snprintf(err, err_cap, "%s:%u: %d field(s), the header needs %d", path, lineno, nf, need);
      ok = false;
      break;
    }
    if (out->count == cap) {
      uint32_t grown = cap ? cap * 2 : 16;
      ddk_conform_graph_case* more = realloc(out->cases, grown * sizeof *more);
      if (more == NULL) {
        snprintf(err, err_cap, "out of memory");
        ok = false;
        break;
      }
      out->cases = more;
      cap = grown;
    }
    ddk_conform_graph_case* g = &out->cases[out->count++];
    memset(g, 0, sizeof *g);
    char why[256];
    const char* opt[3]; /* tags, backends, options: optional, "" when absent */
    for (int c = 5; c < 8; ++c) opt[c - 5] = col[c] >= 0 && col[c] < nf ? fld[col[c]] : "";
    ok = read_row(dir, fld, col, opt[0], g, why, sizeof why) &&
         read_extras(opt[1], opt[2], g, why, sizeof why);
    if (!ok) snprintf(err, err_cap, "%s:%u: %s", path, lineno, why);
  }
  if (ok && col[0] < 0) {
    snprintf(err, err_cap, "%s: empty (no header line)", path);
    ok = false;
  }
  fclose(fp);
  free(line);
  free(dir);
  if (!ok) ddk_conform_graphs_free(out);
  return ok;
}

/* ---- comparing --------------------------------------------------------------- */

static bool is_float(ddk_dtype d) {
  return d == DDK_DTYPE_FLOAT16 || d == DDK_DTYPE_BFLOAT16 || d == DDK_DTYPE_FLOAT32 ||
         d == DDK_DTYPE_FLOAT64 || d == DDK_DTYPE_COMPLEX64 || d == DDK_DTYPE_COMPLEX128;
}

/* The real dtype of a complex dtype's parts (complex values are compared
 * as pairs of parts), else `d`. */
static ddk_dtype part_dtype(ddk_dtype d) {
  if (d == DDK_DTYPE_COMPLEX64) return DDK_DTYPE_FLOAT32;
  if (d == DDK_DTYPE_COMPLEX128) return DDK_DTYPE_FLOAT64;
  return d;
}

/* Running statistics over every output of a graph. */
typedef struct accum {
  double sum_d, sum_d2, sum_w2;
  int64_t finite;
  bool failed;
} accum;

/* Compares output `o`; false (with msg) at its first bad element. */
static bool compare_output(uint32_t o, const ddk_tensor* got, const ddk_tensor* want, double rtol,
                           double atol, accum* acc, ddk_conform_result* r, char* msg, size_t cap) {
  if (got == NULL || want == NULL) {
    snprintf(msg, cap, "output %u is missing", o);
    return false;
  }
  bool same = got->dtype == want->dtype && got->rank == want->rank;
  for (uint32_t d = 0; same && d < got->rank; ++d) same = got->sizes[d] == want->sizes[d];
  if (!same) {
    snprintf(msg, cap,
             "output %u is %s of rank %u, the reference's %s of rank %u (or sizes differ)", o,
             ddk_dtype_name(got->dtype), got->rank, ddk_dtype_name(want->dtype), want->rank);
    return false;
  }
  const int64_t n = ddk_tensor_numel(got);
  const unsigned char* g8 = got->data;
  const unsigned char* w8 = want->data;
  if (n > 0 && (g8 == NULL || w8 == NULL)) {
    snprintf(msg, cap, "output %u has no data", o);
    return false;
  }
  const bool fp = is_float(got->dtype);
  const bool complex = got->dtype == DDK_DTYPE_COMPLEX64 || got->dtype == DDK_DTYPE_COMPLEX128;
  const int64_t parts = complex ? 2 : 1;
  const double int_tol = got->dtype != DDK_DTYPE_BOOL && atol >= 1.0 ? atol : 0.0;
  const ddk_dtype part = part_dtype(got->dtype);
  bool ok = true;
  for (int64_t i = 0; i < n * parts; ++i) {
    double g, w;
    bool good;
    if (fp) {
      g = ddk_ku_load_f64(g8, part, i);
      w = ddk_ku_load_f64(w8, part, i);
      if (isnan(g) || isnan(w) || isinf(g) || isinf(w)) {
        good = (isnan(g) && isnan(w)) || g == w;
      } else {
        good = fabs(g - w) <= atol + rtol * fabs(w);
      }
    } else {
      int64_t a = ddk_ku_load_i64(g8, part, i), b = ddk_ku_load_i64(w8, part, i);
      g = (double)a;
      w = (double)b;
      good = a == b || fabs(g - w) <= int_tol;
    }
    if (isfinite(g) && isfinite(w)) {
      double diff = g - w;
      acc->sum_d += diff;
      acc->sum_d2 += diff * diff;
      acc->sum_w2 += w * w;
      ++acc->finite;
      if (fabs(diff) > r->stats.max_abs || r->stats.worst < 0) {
        if (fabs(diff) > r->stats.max_abs) r->stats.max_abs = fabs(diff);
        if (!acc->failed) { /* the worst element, until something fails */
          r->stats.worst = i / parts;
          r->stats.worst_got = g;
          r->stats.worst_want = w;
          r->worst_output = o;
        }
      }
    }
    if (!good && ok) {
      ok = false;
      acc->failed = true;
      r->stats.worst = i / parts;
      r->stats.worst_got = g;
      r->stats.worst_want = w;
      r->worst_output = o;
      if (fp)
        snprintf(msg, cap,
                 "output %u element %lld%s: got %.9g, expected %.9g (atol %g, rtol %g, %s)", o,
                 (long long)(i / parts), complex ? (i % 2 ? " (imag)" : " (real)") : "", g, w, atol,
                 rtol, ddk_dtype_name(got->dtype));
      else
        snprintf(msg, cap, "output %u element %lld: got %.17g, expected %.17g (%s, %s)", o,
                 (long long)i, g, w, int_tol > 0 ? "within atol" : "exact",
                 ddk_dtype_name(got->dtype));
    }
  }
  return ok;
}

bool ddk_conform_graph_compare(const ddk_tensor* const* got, uint32_t num_got,
                               const ddk_tensor* const* want, uint32_t num_want, double rtol,
                               double atol, ddk_conform_result* r) {
  memset(&r->stats, 0, sizeof r->stats);
  r->stats.worst = -1;
  r->worst_output = -1;
  r->has_stats = true;
  bool ok = num_got == num_want;
  if (!ok)
    snprintf(r->detail, sizeof r->detail, "%u outputs, the reference has %u", num_got, num_want);
  accum acc = {0, 0, 0, 0, false};
  for (uint32_t o = 0; ok && o < num_want; ++o) {
    char msg[512] = "";
    ok = compare_output(o, got[o], want[o], rtol, atol, &acc, r, msg, sizeof msg);
    if (!ok) snprintf(r->detail, sizeof r->detail, "%s", msg);
  }
  r->stats.bias = acc.finite ? acc.sum_d / (double)acc.finite : 0.0;
  r->stats.nmse = acc.sum_w2 > 0 ? acc.sum_d2 / acc.sum_w2 : acc.sum_d2;
  return ok;
}

/* ---- one graph case ---------------------------------------------------------- */

void ddk_conform_run_graph_case(const ddk_conform_config* cfg, const void* ctx,
                                ddk_conform_result* r) {
  const ddk_conform_graph_case* g = ctx;
  char err[512] = "";
  npy_array arrays[MAX_GRAPH_INPUTS];
  ddk_conform_input inputs[MAX_GRAPH_INPUTS];
  memset(arrays, 0, sizeof arrays);
  ddk_conform_session s;
  ddk_program *prog = NULL, *low = NULL;
  ddk_method *mb = NULL, *mr = NULL;
  if (!ddk_conform_session_open(&s, cfg, (const char* const*)g->backends, g->num_backends,
                                g->options, g->num_options, r))
    goto cleanup;
  ddk_conform_note_stage("program");
  ddk_status st = ddk_program_load_file(g->program_path, &s.allocator, &prog, err, sizeof err);
  if (st != DDK_OK) {
    ddk_conform_result_fail(r, "error", "program", st, err);
    goto cleanup;
  }
  r->nodes = prog->num_nodes;
  if (g->num_inputs != prog->num_inputs) {
    snprintf(r->stage, sizeof r->stage, "inputs");
    snprintf(r->detail, sizeof r->detail, "%u input file(s) given, the program has %u inputs",
             g->num_inputs, prog->num_inputs);
    goto cleanup;
  }
  for (uint32_t i = 0; i < g->num_inputs; ++i) {
    ddk_dtype want = prog->values[prog->inputs[i]].tensor.dtype;
    st = npy_read(g->input_paths[i], &arrays[i], err, sizeof err);
    if (st == DDK_OK) st = npy_convert(&arrays[i], want, err, sizeof err);
    if (st != DDK_OK) {
      ddk_conform_result_fail(r, "error", "inputs", st, err);
      goto cleanup;
    }
    inputs[i] = (ddk_conform_input){arrays[i].dtype, arrays[i].rank, arrays[i].sizes,
                                    arrays[i].data, arrays[i].nbytes};
  }
  if (!ddk_conform_session_run_reference(&s, prog, inputs, g->num_inputs, &mr, r)) goto cleanup;
  if (!ddk_conform_session_lower(&s, cfg, prog, &low, r)) goto cleanup;
  if (s.primary_partitions == 0) {
    r->outcome = "unsupported";
    snprintf(r->detail, sizeof r->detail, "%s",
             low->num_delegates == 0 ? "no node of the graph was delegated"
                                     : "only the case's further backends took nodes");
    goto cleanup;
  }
  if (!ddk_conform_session_run_backend(&s, cfg, low, inputs, g->num_inputs, &mb, r)) goto cleanup;
  {
    const ddk_tensor* got[MAX_GRAPH_OUTPUTS];
    const ddk_tensor* want[MAX_GRAPH_OUTPUTS];
    uint32_t ng = ddk_method_num_outputs(mb), nw = ddk_method_num_outputs(mr);
    if (ng > MAX_GRAPH_OUTPUTS || nw > MAX_GRAPH_OUTPUTS) {
      snprintf(r->detail, sizeof r->detail, "more than %d outputs", MAX_GRAPH_OUTPUTS);
      goto cleanup;
    }
    for (uint32_t o = 0; o < ng; ++o) got[o] = ddk_method_output(mb, o);
    for (uint32_t o = 0; o < nw; ++o) want[o] = ddk_method_output(mr, o);
    bool same = ddk_conform_graph_compare(got, ng, want, nw, g->rtol, g->atol, r);
    r->outcome = same ? "pass" : "fail";
  }
cleanup:
  ddk_conform_note_stage("destroy");
  ddk_method_destroy(mb);
  ddk_method_destroy(mr);
  ddk_program_destroy(low);
  ddk_program_destroy(prog);
  for (uint32_t i = 0; i < MAX_GRAPH_INPUTS; ++i) npy_free(&arrays[i]);
  ddk_conform_session_close(&s, r);
}
