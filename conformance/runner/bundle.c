/*
 * bundle.c — bundles, the no-Python path: a folder a host writes and a
 * target runs with `ddk_conform --bundle DIR` (conform.h).
 *
 *   DIR/BUNDLE      key=value lines: format=1, op_table_hash=0x<16 hex>,
 *                   cases=<case file or empty>, graphs=<graph TSV or
 *                   empty> (paths relative to DIR; other keys ignored)
 *   DIR/SHA256SUMS  `sha256sum` output: "<64 hex>  <path>" per line
 *                   ("<64 hex> *<path>" too), paths relative to DIR
 *
 * Opening one checks, before anything runs: every file SHA256SUMS lists
 * exists and has its digest; SHA256SUMS lists every file the bundle uses
 * (BUNDLE, the case file, the graph TSV and every program and input it
 * names); no path leaves DIR; BUNDLE is format 1 and was built for this
 * runner's op table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "sha256.h"

/* ---- paths ------------------------------------------------------------------- */

char* ddk_conform_path_join(const char* dir, const char* rel) {
  size_t nd = strlen(dir), nr = strlen(rel);
  bool plain = rel[0] == '/' || nd == 0;
  char* out = malloc(nd + nr + 2);
  if (out == NULL) return NULL;
  if (plain) {
    memcpy(out, rel, nr + 1);
  } else {
    memcpy(out, dir, nd);
    size_t k = nd;
    if (dir[nd - 1] != '/') out[k++] = '/';
    memcpy(out + k, rel, nr + 1);
  }
  return out;
}

char* ddk_conform_path_dir(const char* path) {
  const char* slash = strrchr(path, '/');
  size_t n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
  char* out = malloc(n + 1);
  if (out == NULL) return NULL;
  memcpy(out, path, n);
  out[n] = '\0';
  return out;
}

/* `path` (relative) with "." and empty components dropped and ".."
 * applied; false when it is absolute, empty or climbs out of its root. */
static bool normalize(const char* path, char* out, size_t cap) {
  if (path[0] == '/' || cap == 0) return false;
  size_t used = 0;
  out[0] = '\0';
  for (const char* p = path; *p != '\0';) {
    const char* slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (used == 0) return false;
      while (used > 0 && out[used - 1] != '/') --used;
      if (used > 0) --used; /* the '/' before the dropped component */
      out[used] = '\0';
    } else if (!(n == 0 || (n == 1 && p[0] == '.'))) {
      if (used + n + 2 > cap) return false;
      if (used > 0) out[used++] = '/';
      memcpy(out + used, p, n);
      used += n;
      out[used] = '\0';
    }
    p += n;
    if (*p == '/') ++p;
  }
  return used > 0;
}

/* ---- SHA256SUMS -------------------------------------------------------------- */

typedef struct sums {
  char (*paths)[1024];
  char (*hex)[65];
  uint32_t count, cap;
} sums;

static void sums_free(sums* s) {
  free(s->paths);
  free(s->hex);
  memset(s, 0, sizeof *s);
}

static bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool sums_read(const char* file, sums* s, char* err, size_t cap) {
  memset(s, 0, sizeof *s);
  FILE* f = fopen(file, "rb");
  if (f == NULL) {
    snprintf(err, cap, "bundle file SHA256SUMS is missing (%s)", file);
    return false;
  }
  char line[1200];
  bool ok = true;
  for (unsigned lineno = 1; ok && fgets(line, sizeof line, f) != NULL; ++lineno) {
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (n == 0) continue;
    bool shape = n > 66 && line[64] == ' ' && (line[65] == ' ' || line[65] == '*');
    for (int i = 0; shape && i < 64; ++i) shape = is_hex(line[i]);
    if (!shape) {
      snprintf(err, cap, "SHA256SUMS:%u: not \"<64 hex>  <path>\"", lineno);
      ok = false;
      break;
    }
    if (s->count == s->cap) {
      uint32_t grown = s->cap ? s->cap * 2 : 32;
      void* p = realloc(s->paths, grown * sizeof s->paths[0]);
      if (p != NULL) s->paths = p;
      void* h = realloc(s->hex, grown * sizeof s->hex[0]);
      if (h != NULL) s->hex = h;
      if (p == NULL || h == NULL) {
        snprintf(err, cap, "out of memory");
        ok = false;
        break;
      }
      s->cap = grown;
    }
    if (!normalize(line + 66, s->paths[s->count], sizeof s->paths[0])) {
      snprintf(err, cap, "SHA256SUMS:%u: path '%s' is not inside the bundle", lineno, line + 66);
      ok = false;
      break;
    }
    for (int i = 0; i < 64; ++i)
      s->hex[s->count][i] =
          (char)(line[i] >= 'A' && line[i] <= 'F' ? line[i] - 'A' + 'a' : line[i]);
    s->hex[s->count][64] = '\0';
    ++s->count;
  }
  fclose(f);
  if (!ok) sums_free(s);
  return ok;
}

static bool sums_lists(const sums* s, const char* path) {
  for (uint32_t i = 0; i < s->count; ++i)
    if (strcmp(s->paths[i], path) == 0) return true;
  return false;
}

/* Checks that `rel` (relative to the bundle folder, `what` says what it
 * is) stays inside the bundle and is listed; writes its normal form. */
static bool check_used(const sums* s, const char* what, const char* rel, char* norm, size_t ncap,
                       char* err, size_t cap) {
  if (!normalize(rel, norm, ncap)) {
    snprintf(err, cap, "bundle %s '%s' is not inside the bundle", what, rel);
    return false;
  }
  if (!sums_lists(s, norm)) {
    snprintf(err, cap, "bundle file %s (%s) is not listed in SHA256SUMS", norm, what);
    return false;
  }
  return true;
}

/* ---- BUNDLE ------------------------------------------------------------------ */

typedef struct manifest {
  char format[32];
  char op_table_hash[64];
  char cases[1024];
  char graphs[1024];
  bool has_format, has_hash;
} manifest;

static bool manifest_read(const char* file, manifest* m, char* err, size_t cap) {
  memset(m, 0, sizeof *m);
  FILE* f = fopen(file, "rb");
  if (f == NULL) {
    snprintf(err, cap, "bundle file BUNDLE is missing (%s)", file);
    return false;
  }
  char line[1200];
  while (fgets(line, sizeof line, f) != NULL) {
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    char* eq = strchr(line, '=');
    if (n == 0 || line[0] == '#' || eq == NULL) continue;
    *eq = '\0';
    const char* v = eq + 1;
    if (strcmp(line, "format") == 0) {
      snprintf(m->format, sizeof m->format, "%s", v);
      m->has_format = true;
    } else if (strcmp(line, "op_table_hash") == 0) {
      snprintf(m->op_table_hash, sizeof m->op_table_hash, "%s", v);
      m->has_hash = true;
    } else if (strcmp(line, "cases") == 0) {
      snprintf(m->cases, sizeof m->cases, "%s", v);
    } else if (strcmp(line, "graphs") == 0) {
      snprintf(m->graphs, sizeof m->graphs, "%s", v);
    }
  }
  fclose(f);
  return true;
}

/* ---- opening a bundle -------------------------------------------------------- */

void ddk_conform_bundle_free(ddk_conform_bundle* b) {
  free(b->cases);
  free(b->graphs);
  memset(b, 0, sizeof *b);
}

/* Every program and input of the graph TSV `graphs_rel` is listed. */
static bool check_graph_files(const char* dir, const sums* s, const char* graphs_rel, char* err,
                              size_t cap) {
  char* tsv = ddk_conform_path_join(dir, graphs_rel);
  char* tsv_dir = ddk_conform_path_dir(graphs_rel);
  ddk_conform_graph_file gf;
  bool ok = tsv != NULL && tsv_dir != NULL && ddk_conform_graphs_read(tsv, &gf, err, cap);
  if (!ok) {
    free(tsv);
    free(tsv_dir);
    return false;
  }
  char norm[1024];
  for (uint32_t i = 0; ok && i < gf.count; ++i) {
    const ddk_conform_graph_case* g = &gf.cases[i];
    for (uint32_t k = 0; ok && k <= g->num_inputs; ++k) {
      const char* raw = k == 0 ? g->program : g->inputs[k - 1];
      char* rel = raw[0] == '/' ? NULL : ddk_conform_path_join(tsv_dir, raw);
      char what[300];
      snprintf(what, sizeof what, "%s of graph case '%.200s'", k == 0 ? "program" : "input",
               g->name);
      ok = check_used(s, what, rel != NULL ? rel : raw, norm, sizeof norm, err, cap);
      free(rel);
    }
  }
  ddk_conform_graphs_free(&gf);
  free(tsv);
  free(tsv_dir);
  return ok;
}

bool ddk_conform_bundle_open(const char* dir, ddk_conform_bundle* out, char* err, size_t err_cap) {
  memset(out, 0, sizeof *out);
  sums s;
  char* sums_path = ddk_conform_path_join(dir, "SHA256SUMS");
  bool ok = sums_path != NULL && sums_read(sums_path, &s, err, err_cap);
  free(sums_path);
  if (!ok) return false;
  /* 1. every listed file has its digest */
  for (uint32_t i = 0; ok && i < s.count; ++i) {
    char* file = ddk_conform_path_join(dir, s.paths[i]);
    unsigned char digest[DDK_SHA256_DIGEST_SIZE];
    char hex[65];
    errno = 0;
    if (file == NULL || !ddk_sha256_file(file, digest)) {
      snprintf(err, err_cap, "bundle file %s is %s", s.paths[i],
               errno == ENOENT ? "missing" : "unreadable");
      ok = false;
    } else {
      ddk_sha256_hex(digest, hex);
      if (strcmp(hex, s.hex[i]) != 0) {
        snprintf(err, err_cap,
                 "bundle file %s does not match SHA256SUMS (sha256 %s, listed %s): the bundle "
                 "is corrupt or was changed",
                 s.paths[i], hex, s.hex[i]);
        ok = false;
      }
    }
    free(file);
  }
  /* 2. BUNDLE: listed, format 1, this op table */
  manifest m;
  char norm[1024];
  char* bundle_path = NULL;
  if (ok) ok = check_used(&s, "manifest", "BUNDLE", norm, sizeof norm, err, err_cap);
  if (ok) {
    bundle_path = ddk_conform_path_join(dir, "BUNDLE");
    ok = bundle_path != NULL && manifest_read(bundle_path, &m, err, err_cap);
  }
  if (ok && (!m.has_format || strcmp(m.format, "1") != 0)) {
    snprintf(err, err_cap, "BUNDLE: format '%s' is not supported (this runner reads format 1)",
             m.has_format ? m.format : "(missing)");
    ok = false;
  }
  if (ok) {
    char mine[32];
    snprintf(mine, sizeof mine, "0x%016llx", (unsigned long long)ddk_op_table_hash());
    const char* h = m.op_table_hash;
    char* end = NULL;
    errno = 0;
    unsigned long long theirs = strtoull(h, &end, 16);
    bool parsed = m.has_hash && h[0] != '\0' && *end == '\0' && errno == 0;
    if (!parsed || theirs != (unsigned long long)ddk_op_table_hash()) {
      snprintf(err, err_cap, "bundle built for op table %s, runner has %s",
               m.has_hash ? h : "(none)", mine);
      ok = false;
    }
  }
  /* 3. the files it runs: inside, listed */
  if (ok && m.cases[0] == '\0' && m.graphs[0] == '\0') {
    snprintf(err, err_cap, "BUNDLE names no cases and no graphs");
    ok = false;
  }
  if (ok && m.cases[0] != '\0') {
    ok = check_used(&s, "case file", m.cases, norm, sizeof norm, err, err_cap);
    if (ok) ok = (out->cases = ddk_conform_path_join(dir, norm)) != NULL;
  }
  if (ok && m.graphs[0] != '\0') {
    ok = check_used(&s, "graph file", m.graphs, norm, sizeof norm, err, err_cap);
    if (ok) ok = check_graph_files(dir, &s, norm, err, err_cap);
    if (ok) ok = (out->graphs = ddk_conform_path_join(dir, norm)) != NULL;
  }
  free(bundle_path);
  sums_free(&s);
  if (!ok) ddk_conform_bundle_free(out);
  return ok;
}
