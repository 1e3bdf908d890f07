/*
 * ddk_main.c — the `ddk` command line.
 *
 *   ddk ops [--json] [--golden RESULTS.tsv]   (default <exe dir>/reports/golden.tsv)
 *   ddk backends [--json] [--backend NAME_OR_PATH ...]
 *   ddk inspect PROGRAM [--json] [--backend NAME_OR_PATH ...] [--option K=V ...]
 *   ddk run PROGRAM [--input FILE.npy ...] [--output-dir DIR]
 *                   [--backend NAME_OR_PATH ...] [--seed N] [--iterations N]
 *                   [--option K=V ...]
 *   ddk lower PROGRAM --backend NAME_OR_PATH [...] [--option K=V ...] -o OUT
 *
 * --option KEY=VALUE (repeatable) goes to lowering (partition, preprocess)
 * and to the method (init): "true"/"false" is a bool, a whole number an
 * int, another number a float, anything else a string.
 *   ddk export | zoo | compare ...   (the Python half: python3 -m ddk, see
 *                                     python/ddk/cli.py)
 *
 * Exit status: 0 success, 1 runtime failure, 2 bad input (usage, a
 * malformed program or .npy, inputs that do not match, an unknown or
 * incompatible backend).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddk/ops.h"
#include "ddk/program.h"
#include "ddk/runtime.h"
#include "npy.h"

#define EXIT_RUNTIME 1
#define EXIT_BAD_INPUT 2
#define MAX_LIST 64

typedef struct cli_args {
  const char* command;
  const char* program;
  const char* output;
  const char* output_dir;
  const char* backends[MAX_LIST];
  uint32_t num_backends;
  const char* inputs[MAX_LIST];
  uint32_t num_inputs;
  bool json;
  const char* golden; /* golden-tier results (golden.tsv) */
  uint64_t seed;
  long iterations;
  ddk_option options[MAX_LIST];
  ddk_options option_list;
} cli_args;

/* Parses "KEY=VALUE" into a typed option (the strings stay argv's). */
static bool parse_option(char* text, ddk_option* o) {
  char* eq = strchr(text, '=');
  if (eq == NULL || eq == text) return false;
  *eq = '\0';
  const char* v = eq + 1;
  o->key = text;
  char* end;
  errno = 0;
  long long i = strtoll(v, &end, 10);
  if (*v != '\0' && *end == '\0' && errno == 0) {
    o->type = DDK_OPTION_INT;
    o->value.i = i;
    return true;
  }
  double f = strtod(v, &end);
  if (*v != '\0' && *end == '\0') {
    o->type = DDK_OPTION_FLOAT;
    o->value.f = f;
  } else if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
    o->type = DDK_OPTION_BOOL;
    o->value.b = v[0] == 't';
  } else {
    o->type = DDK_OPTION_STRING;
    o->value.s = v;
  }
  return true;
}

static int exit_code_for(ddk_status st) {
  switch (st) {
    case DDK_OK: return 0;
    case DDK_INVALID_ARGUMENT:
    case DDK_INVALID_PROGRAM:
    case DDK_IO_ERROR:
    case DDK_NOT_FOUND:
    case DDK_ABI_MISMATCH:
    case DDK_SHAPE_MISMATCH:
    case DDK_DTYPE_MISMATCH:
    case DDK_OUT_OF_RANGE:
    case DDK_UNSUPPORTED_OP:
    case DDK_BACKEND_UNAVAILABLE:
      return EXIT_BAD_INPUT;
    default:
      return EXIT_RUNTIME;
  }
}

static int report(ddk_status st, const char* what, const char* msg) {
  fprintf(stderr, "ddk: %s: %s [%s]\n", what, msg, ddk_status_name(st));
  return exit_code_for(st);
}

static int usage(const char* msg) {
  if (msg) fprintf(stderr, "ddk: %s\n", msg);
  fprintf(stderr,
          "usage:\n"
          "  ddk ops [--json] [--golden RESULTS.tsv]\n"
          "  ddk backends [--json] [--backend NAME_OR_PATH ...]\n"
          "  ddk inspect PROGRAM [--json] [--backend NAME_OR_PATH ...] [--option K=V ...]\n"
          "  ddk run PROGRAM [--input FILE.npy ...] [--output-dir DIR]\n"
          "          [--backend NAME_OR_PATH ...] [--seed N] [--iterations N]\n"
          "          [--option K=V ...]\n"
          "  ddk lower PROGRAM --backend NAME_OR_PATH [...] [--option K=V ...] -o OUT\n"
          "  ddk export SPEC --out FILE       (PyTorch module -> program)\n"
          "  ddk zoo list | build NAME... --out DIR\n"
          "  ddk compare PROGRAM --module NAME\n"
          "  ddk profile PROGRAM [--backend B ...] [--iterations N] [--warmup N]\n"
          "              [--threads N] [--compare [--compare-backend B ...]]\n"
          "              [--json F] [--csv F] [--trace F] [--plot F.png] [--html F]\n"
          "  (export, zoo, compare and profile run python3 -m ddk; --help on each)\n"
          "--option KEY=VALUE goes to lowering and to the method (bool true/false,\n"
          "int, float, else string), e.g. --option npu_sim.sram_bytes=262144.\n"
          "Backends named without a path are searched on DDK_BACKEND_PATH\n"
          "(default: the sample_delegates folder beside this binary).\n");
  return EXIT_BAD_INPUT;
}

static int parse_args(int argc, char** argv, cli_args* a) {
  memset(a, 0, sizeof *a);
  a->option_list = (ddk_options){DDK_STRUCT_HEADER_INIT(ddk_options), 0, a->options};
  a->seed = 1;
  a->iterations = 1;
  if (argc < 2) return usage("no command");
  a->command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const char* s = argv[i];
    const char* next = (i + 1 < argc) ? argv[i + 1] : NULL;
    if (strcmp(s, "--json") == 0) {
      a->json = true;
    } else if (strcmp(s, "--backend") == 0 || strcmp(s, "--input") == 0) {
      if (next == NULL) return usage("option needs a value");
      bool is_backend = s[2] == 'b';
      uint32_t* n = is_backend ? &a->num_backends : &a->num_inputs;
      if (*n == MAX_LIST) return usage("too many values");
      (is_backend ? a->backends : a->inputs)[(*n)++] = next;
      ++i;
    } else if (strcmp(s, "--option") == 0) {
      if (next == NULL) return usage("--option needs KEY=VALUE");
      if (a->option_list.count == MAX_LIST) return usage("too many options");
      if (!parse_option(argv[i + 1], &a->options[a->option_list.count]))
        return usage("--option takes KEY=VALUE");
      a->option_list.count++;
      ++i;
    } else if (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0) {
      if (next == NULL) return usage("-o needs a path");
      a->output = next;
      ++i;
    } else if (strcmp(s, "--golden") == 0) {
      if (next == NULL) return usage("--golden needs a path");
      a->golden = next;
      ++i;
    } else if (strcmp(s, "--output-dir") == 0) {
      if (next == NULL) return usage("--output-dir needs a path");
      a->output_dir = next;
      ++i;
    } else if (strcmp(s, "--seed") == 0 || strcmp(s, "--iterations") == 0) {
      if (next == NULL) return usage("option needs a number");
      char* end;
      errno = 0;
      long long v = strtoll(next, &end, 10);
      if (*end != '\0' || errno != 0 || v < 0) return usage("bad number");
      if (s[2] == 's') a->seed = (uint64_t)v;
      else a->iterations = (long)(v > 0 ? v : 1);
      ++i;
    } else if (s[0] == '-') {
      fprintf(stderr, "ddk: unknown option '%s'\n", s);
      return usage(NULL);
    } else if (a->program == NULL) {
      a->program = s;
    } else {
      fprintf(stderr, "ddk: unexpected argument '%s'\n", s);
      return usage(NULL);
    }
  }
  return 0;
}

/* Sets DDK_BACKEND_PATH to the sample_delegates folder beside the binary
 * when the user has not set it. */
static void default_backend_path(void) {
  if (getenv("DDK_BACKEND_PATH") != NULL) return;
  char exe[1024];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  char* slash = strrchr(exe, '/');
  if (slash == NULL) return;
  *slash = '\0';
  char path[2300];
  snprintf(path, sizeof path, "%s/sample_delegates:%s/../lib/ddk/backends",
           exe, exe);
  setenv("DDK_BACKEND_PATH", path, 0);
}

static void json_string(FILE* f, const char* s) {
  fputc('"', f);
  for (; s && *s; ++s) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static void print_shape(FILE* f, const ddk_tensor* t, bool json) {
  fputc('[', f);
  for (uint32_t i = 0; i < t->rank; ++i)
    fprintf(f, "%s%lld", i ? (json ? ", " : ",") : "", (long long)t->sizes[i]);
  fputc(']', f);
}

static int add_backends(ddk_runtime* rt, const cli_args* a,
                        const char** names) {
  char err[1024];
  for (uint32_t i = 0; i < a->num_backends; ++i) {
    const ddk_backend* b = NULL;
    ddk_status st = ddk_runtime_add_backend(rt, a->backends[i], &b, err,
                                            sizeof err);
    if (st != DDK_OK) return report(st, "backend", err);
    names[i] = b->name;
  }
  return 0;
}

/* ---- ddk ops ------------------------------------------------------------ */

static void print_dtypes(FILE* f, uint32_t mask, bool json) {
  bool first = true;
#define DDK_X_(name, value, size, str)              \
  if (mask & (1u << value)) {                       \
    if (json) fprintf(f, "%s\"%s\"", first ? "" : ", ", str); \
    else fprintf(f, "%s%s", first ? "" : ",", str); \
    first = false;                                  \
  }
  DDK_FOR_EACH_DTYPE(DDK_X_)
#undef DDK_X_
}

/* Golden-tier outcomes per op: dtype bits that passed / failed. */
typedef struct golden_results {
  uint32_t passed[DDK_OP_COUNT];
  uint32_t failed[DDK_OP_COUNT];
  bool loaded;
} golden_results;

static int dtype_by_name(const char* name) {
#define DDK_X_(n, value, size, str) \
  if (strcmp(name, str) == 0) return value;
  DDK_FOR_EACH_DTYPE(DDK_X_)
#undef DDK_X_
  return -1;
}

/* Reads "op TAB dtype TAB outcome" lines (written by the golden tier's
 * conftest.py next to golden.json). A missing file is not an error. */
static void load_golden(const char* path, golden_results* g) {
  memset(g, 0, sizeof *g);
  FILE* f = fopen(path, "r");
  if (f == NULL) return;
  g->loaded = true;
  char line[512];
  while (fgets(line, sizeof line, f) != NULL) {
    char* dt = strchr(line, '\t');
    char* outcome = dt ? strchr(dt + 1, '\t') : NULL;
    if (outcome == NULL) continue;
    *dt++ = '\0';
    *outcome++ = '\0';
    outcome[strcspn(outcome, "\r\n")] = '\0';
    const ddk_op_info* op = ddk_op_find(line);
    int d = dtype_by_name(dt);
    if (op == NULL || d < 0) continue;
    if (strcmp(outcome, "passed") == 0) g->passed[op->id] |= 1u << d;
    else if (strcmp(outcome, "failed") == 0) g->failed[op->id] |= 1u << d;
  }
  fclose(f);
}

/* <directory of this executable>/reports/golden.tsv, the default. */
static const char* default_golden_path(char* buf, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", buf, cap - 32);
  if (n <= 0) return "build/reports/golden.tsv";
  buf[n] = '\0';
  char* slash = strrchr(buf, '/');
  if (slash == NULL) return "build/reports/golden.tsv";
  snprintf(slash, cap - (size_t)(slash - buf), "/reports/golden.tsv");
  return buf;
}

static int cmd_ops(const cli_args* a) {
  uint32_t n = ddk_op_count();
  static const char* const tol[] = {"exact", "ulp", "accumulate",
                                    "statistical", "quant"};
  char pathbuf[4096];
  const char* gpath = a->golden ? a->golden : default_golden_path(pathbuf, sizeof pathbuf);
  static golden_results g;
  load_golden(gpath, &g);
  if (a->json) {
    printf("{\"op_table_hash\": \"%016llx\", \"golden_results\": ",
           (unsigned long long)ddk_op_table_hash());
    if (g.loaded) json_string(stdout, gpath);
    else printf("null");
    printf(", \"ops\": [\n");
    for (uint32_t i = 0; i < n; ++i) {
      const ddk_op_info* op = ddk_op_get(i);
      printf("  {\"id\": %u, \"name\": ", op->id);
      json_string(stdout, op->name);
      printf(", \"category\": ");
      json_string(stdout, op->category);
      printf(", \"portable_kernel\": %s, \"tolerance\": \"%s\", \"ulp\": %u, \"dtypes\": [",
             op->has_portable_kernel ? "true" : "false",
             op->tolerance < 5 ? tol[op->tolerance] : "?", (unsigned)op->ulp);
      print_dtypes(stdout, op->dtype_mask, true);
      printf("], \"kernel_dtypes\": [");
      print_dtypes(stdout, op->has_portable_kernel ? op->dtype_mask : 0, true);
      printf("], \"golden_passed\": [");
      print_dtypes(stdout, g.passed[i], true);
      printf("], \"golden_failed\": [");
      print_dtypes(stdout, g.failed[i], true);
      printf("], \"known_deviations\": [");
      print_dtypes(stdout, op->deviation_mask, true);
      printf("]}%s\n", i + 1 < n ? "," : "");
    }
    printf("]}\n");
    return 0;
  }
  uint32_t with_kernel = 0, all_passed = 0;
  printf("%-4s %-48s %-24s %-7s %-7s %s\n", "id", "op", "category", "kernel", "golden",
         "dtypes");
  for (uint32_t i = 0; i < n; ++i) {
    const ddk_op_info* op = ddk_op_get(i);
    with_kernel += op->has_portable_kernel;
    const char* golden = !g.loaded                           ? "-"
                         : g.failed[i] != 0                  ? "FAILED"
                         : (g.passed[i] & op->dtype_mask) == op->dtype_mask ? "passed"
                         : g.passed[i] != 0                  ? "partial"
                                                             : "-";
    all_passed += strcmp(golden, "passed") == 0;
    printf("%-4u %-48s %-24s %-7s %-7s ", op->id, op->name, op->category,
           op->has_portable_kernel ? "yes" : "no", golden);
    print_dtypes(stdout, op->dtype_mask, false);
    printf("\n");
  }
  printf("%u ops, %u with a portable kernel", n, with_kernel);
  if (g.loaded) printf(", %u passing the golden tier for every dtype (%s)", all_passed, gpath);
  printf("\n");
  return 0;
}

/* ---- ddk backends ------------------------------------------------------- */

/* True when the plugin file at `path` is already registered (given with
 * --backend and found again on the search path). */
static bool already_registered(const ddk_runtime* rt, const char* path) {
  struct stat want, have;
  if (stat(path, &want) != 0) return false;
  ddk_backend_entry_info info;
  for (uint32_t i = 0; ddk_runtime_backend_get(rt, i, &info); ++i)
    if (info.path != NULL && stat(info.path, &have) == 0 && have.st_dev == want.st_dev &&
        have.st_ino == want.st_ino)
      return true;
  return false;
}

static int cmd_backends(const cli_args* a) {
  ddk_runtime* rt = NULL;
  char err[1024];
  ddk_status st = ddk_runtime_create(NULL, &rt, err, sizeof err);
  if (st != DDK_OK) return report(st, "runtime", err);
  const char* names[MAX_LIST];
  int rc = add_backends(rt, a, names);
  if (rc != 0) {
    ddk_runtime_destroy(rt);
    return rc;
  }
  /* every plugin found on the search path */
  const char* search = getenv("DDK_BACKEND_PATH");
  char failures[4096] = "";
  size_t flen = 0;
  if (search != NULL) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", search);
    for (char* dir = strtok(buf, ":"); dir; dir = strtok(NULL, ":")) {
      DIR* d = opendir(dir);
      if (d == NULL) continue;
      struct dirent* e;
      while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "libddk_backend_", 15) != 0 || len < 4 ||
            strcmp(e->d_name + len - 3, ".so") != 0)
          continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (already_registered(rt, path)) continue;
        char perr[512];
        st = ddk_runtime_add_backend(rt, path, NULL, perr, sizeof perr);
        if (st != DDK_OK && flen < sizeof failures - 1)
          flen += (size_t)snprintf(failures + flen, sizeof failures - flen,
                                   "  %s: %s\n", path, perr);
      }
      closedir(d);
    }
  }
  uint32_t n = ddk_runtime_backend_count(rt);
  if (a->json) printf("{\"host_abi\": \"%u.%u\", \"backends\": [\n",
                      DDK_ABI_VERSION_MAJOR, DDK_ABI_VERSION_MINOR);
  else printf("host ABI %u.%u; search path: %s\n", DDK_ABI_VERSION_MAJOR,
              DDK_ABI_VERSION_MINOR, search ? search : "(unset)");
  for (uint32_t i = 0; i < n; ++i) {
    ddk_backend_entry_info info;
    ddk_runtime_backend_get(rt, i, &info);
    if (a->json) {
      printf("  {\"name\": ");
      json_string(stdout, info.name);
      printf(", \"version\": ");
      json_string(stdout, info.version);
      printf(", \"abi\": \"%u.%u\", \"path\": ",
             DDK_ABI_VERSION_MAJOR_OF(info.abi_version),
             DDK_ABI_VERSION_MINOR_OF(info.abi_version));
      json_string(stdout, info.path);
      printf(", \"available\": %s, \"device\": ",
             info.info.available ? "true" : "false");
      json_string(stdout, info.info.device_name);
      printf(", \"detail\": ");
      json_string(stdout, info.info.detail);
      printf("}%s\n", i + 1 < n ? "," : "");
    } else {
      printf("%-12s %-8s ABI %u.%u  %-11s %s\n    device: %s\n    %s\n",
             info.name, info.version, DDK_ABI_VERSION_MAJOR_OF(info.abi_version),
             DDK_ABI_VERSION_MINOR_OF(info.abi_version),
             info.info.available ? "available" : "UNAVAILABLE", info.path,
             info.info.device_name, info.info.detail);
    }
  }
  if (a->json) printf("]}\n");
  if (failures[0] != '\0') fprintf(stderr, "not loadable:\n%s", failures);
  ddk_runtime_destroy(rt);
  return 0;
}

/* ---- loading and lowering ----------------------------------------------- */

typedef struct session {
  ddk_runtime* rt;
  ddk_program* source;
  ddk_program* lowered;
  const ddk_program* program; /* the one to use */
} session;

static void session_close(session* s) {
  ddk_program_destroy(s->lowered);
  ddk_program_destroy(s->source);
  ddk_runtime_destroy(s->rt);
}

/* Loads the program, registers backends, lowers when the program has no
 * delegates yet and backends were given. */
static int session_open(const cli_args* a, session* s, bool lower) {
  memset(s, 0, sizeof *s);
  char err[2048];
  if (a->program == NULL) return usage("missing PROGRAM");
  ddk_status st = ddk_runtime_create(NULL, &s->rt, err, sizeof err);
  if (st != DDK_OK) return report(st, "runtime", err);
  const char* names[MAX_LIST];
  int rc = add_backends(s->rt, a, names);
  if (rc != 0) return rc;
  st = ddk_program_load_file(a->program, NULL, &s->source, err, sizeof err);
  if (st != DDK_OK) return report(st, a->program, err);
  s->program = s->source;
  if (lower && a->num_backends > 0 && s->source->num_delegates == 0) {
    st = ddk_runtime_lower(s->rt, s->source, names, a->num_backends, &a->option_list,
                           &s->lowered, err, sizeof err);
    if (st != DDK_OK) return report(st, "lower", err);
    s->program = s->lowered;
  }
  return 0;
}

/* ---- ddk inspect -------------------------------------------------------- */

static int owner_of(const ddk_program* p, uint32_t node) {
  for (uint32_t d = 0; d < p->num_delegates; ++d)
    for (uint32_t k = 0; k < p->delegates[d].num_nodes; ++k)
      if (p->delegates[d].nodes[k] == node) return (int)d;
  return -1;
}

static int cmd_inspect(const cli_args* a) {
  session s;
  int rc = session_open(a, &s, true);
  if (rc != 0) {
    session_close(&s);
    return rc;
  }
  const ddk_program* p = s.program;
  FILE* o = stdout;
  if (a->json) {
    fprintf(o, "{\"format\": \"%u.%u\", \"num_values\": %u, \"inputs\": [",
            p->format_major, p->format_minor, p->num_values);
    for (uint32_t i = 0; i < p->num_inputs; ++i) {
      const ddk_value_desc* v = &p->values[p->inputs[i]];
      fprintf(o, "%s{\"value\": %u, \"name\": ", i ? ", " : "", p->inputs[i]);
      json_string(o, v->name);
      fprintf(o, ", \"dtype\": \"%s\", \"shape\": ", ddk_dtype_name(v->tensor.dtype));
      print_shape(o, &v->tensor, true);
      fprintf(o, ", \"dynamic_mask\": %u}", v->dynamic_mask);
    }
    fprintf(o, "], \"outputs\": [");
    for (uint32_t i = 0; i < p->num_outputs; ++i) {
      const ddk_value_desc* v = &p->values[p->outputs[i]];
      fprintf(o, "%s{\"value\": %u, \"dtype\": \"%s\", \"shape\": ", i ? ", " : "",
              p->outputs[i], ddk_dtype_name(v->tensor.dtype));
      print_shape(o, &v->tensor, true);
      fprintf(o, "}");
    }
    fprintf(o, "],\n \"nodes\": [\n");
    for (uint32_t n = 0; n < p->num_nodes; ++n) {
      const ddk_node_view* nd = &p->nodes[n];
      int d = owner_of(p, n);
      fprintf(o, "  {\"index\": %u, \"op\": ", n);
      json_string(o, nd->op_name);
      fprintf(o, ", \"name\": ");
      json_string(o, nd->debug_name);
      fprintf(o, ", \"backend\": ");
      json_string(o, d < 0 ? "portable" : p->delegates[d].backend_id);
      fprintf(o, ", \"delegate\": %d, \"outputs\": [", d);
      for (uint32_t k = 0; k < nd->num_outputs; ++k) {
        fprintf(o, "%s{\"value\": %u, \"dtype\": \"%s\", \"shape\": ", k ? ", " : "",
                nd->outputs[k],
                ddk_dtype_name(p->values[nd->outputs[k]].tensor.dtype));
        print_shape(o, &p->values[nd->outputs[k]].tensor, true);
        fprintf(o, "}");
      }
      fprintf(o, "]}%s\n", n + 1 < p->num_nodes ? "," : "");
    }
    fprintf(o, " ],\n \"delegates\": [\n");
    for (uint32_t d = 0; d < p->num_delegates; ++d) {
      const ddk_program_delegate* dl = &p->delegates[d];
      fprintf(o, "  {\"index\": %u, \"backend\": ", d);
      json_string(o, dl->backend_id);
      fprintf(o, ", \"compat\": ");
      json_string(o, dl->compat);
      fprintf(o, ", \"blob_size\": %llu, \"nodes\": [",
              (unsigned long long)dl->blob_size);
      for (uint32_t k = 0; k < dl->num_nodes; ++k)
        fprintf(o, "%s%u", k ? ", " : "", dl->nodes[k]);
      fprintf(o, "], \"inputs\": [");
      for (uint32_t k = 0; k < dl->num_inputs; ++k)
        fprintf(o, "%s%u", k ? ", " : "", dl->inputs[k]);
      fprintf(o, "], \"outputs\": [");
      for (uint32_t k = 0; k < dl->num_outputs; ++k)
        fprintf(o, "%s%u", k ? ", " : "", dl->outputs[k]);
      fprintf(o, "]}%s\n", d + 1 < p->num_delegates ? "," : "");
    }
    fprintf(o, " ],\n \"plan\": [");
    for (uint32_t i = 0; i < p->num_instructions; ++i)
      fprintf(o, "%s{\"kind\": \"%s\", \"index\": %u}", i ? ", " : "",
              p->instructions[i].kind == DDK_INSTR_KERNEL ? "kernel" : "delegate",
              p->instructions[i].index);
    fprintf(o, "]}\n");
  } else {
    fprintf(o, "program %s: format %u.%u, %u values, %u nodes, %u delegates, "
               "%u instructions\n",
            a->program, p->format_major, p->format_minor, p->num_values,
            p->num_nodes, p->num_delegates, p->num_instructions);
    for (uint32_t i = 0; i < p->num_inputs; ++i) {
      const ddk_value_desc* v = &p->values[p->inputs[i]];
      fprintf(o, "  input  %u: value %u '%s' %s ", i, p->inputs[i], v->name,
              ddk_dtype_name(v->tensor.dtype));
      print_shape(o, &v->tensor, false);
      fprintf(o, "%s\n", v->dynamic_mask ? " (dynamic dims: bounds)" : "");
    }
    for (uint32_t i = 0; i < p->num_outputs; ++i) {
      const ddk_value_desc* v = &p->values[p->outputs[i]];
      fprintf(o, "  output %u: value %u %s ", i, p->outputs[i],
              ddk_dtype_name(v->tensor.dtype));
      print_shape(o, &v->tensor, false);
      fprintf(o, "\n");
    }
    fprintf(o, "nodes:\n");
    for (uint32_t n = 0; n < p->num_nodes; ++n) {
      const ddk_node_view* nd = &p->nodes[n];
      int d = owner_of(p, n);
      char owner[96];
      if (d < 0) snprintf(owner, sizeof owner, "portable");
      else snprintf(owner, sizeof owner, "%s (delegate %d)",
                    p->delegates[d].backend_id, d);
      fprintf(o, "  %4u %-34s %-20s -> ", n, nd->op_name, owner);
      for (uint32_t k = 0; k < nd->num_outputs; ++k) {
        print_shape(o, &p->values[nd->outputs[k]].tensor, false);
        fprintf(o, " ");
      }
      fprintf(o, "%s\n", nd->debug_name);
    }
    uint32_t delegated = 0;
    for (uint32_t d = 0; d < p->num_delegates; ++d) {
      const ddk_program_delegate* dl = &p->delegates[d];
      delegated += dl->num_nodes;
      fprintf(o, "delegate %u: backend %s, %u node(s), %u input(s), %u "
                 "output(s), blob %llu bytes, compat '%s'\n",
              d, dl->backend_id, dl->num_nodes, dl->num_inputs,
              dl->num_outputs, (unsigned long long)dl->blob_size, dl->compat);
    }
    fprintf(o, "summary: %u of %u nodes delegated, %u portable\n", delegated,
            p->num_nodes, p->num_nodes - delegated);
  }
  session_close(&s);
  return 0;
}

/* ---- ddk lower ---------------------------------------------------------- */

static int cmd_lower(const cli_args* a) {
  if (a->output == NULL) return usage("lower needs -o OUT");
  if (a->num_backends == 0) return usage("lower needs --backend");
  session s;
  int rc = session_open(a, &s, true);
  if (rc == 0) {
    char err[1024];
    ddk_status st = ddk_program_write_file(s.program, a->output, NULL, err,
                                           sizeof err);
    if (st != DDK_OK) rc = report(st, a->output, err);
    else {
      uint32_t delegated = 0;
      for (uint32_t d = 0; d < s.program->num_delegates; ++d)
        delegated += s.program->delegates[d].num_nodes;
      printf("wrote %s: %u delegate(s) covering %u of %u nodes\n", a->output,
             s.program->num_delegates, delegated, s.program->num_nodes);
    }
  }
  session_close(&s);
  return rc;
}

/* ---- ddk run ------------------------------------------------------------ */

static uint64_t next_random(uint64_t* s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void fill_random(void* data, ddk_dtype dt, int64_t n, uint64_t* rng) {
  for (int64_t i = 0; i < n; ++i) {
    uint64_t r = next_random(rng);
    double u = (double)(r >> 11) / 9007199254740992.0; /* [0,1) */
    double f = 2.0 * u - 1.0;
    int64_t k = (int64_t)(r % 21) - 10;
    switch (dt) {
      case DDK_DTYPE_FLOAT32: ((float*)data)[i] = (float)f; break;
      case DDK_DTYPE_FLOAT64: ((double*)data)[i] = f; break;
      case DDK_DTYPE_INT8: ((int8_t*)data)[i] = (int8_t)k; break;
      case DDK_DTYPE_UINT8: ((uint8_t*)data)[i] = (uint8_t)(r % 21); break;
      case DDK_DTYPE_INT16: ((int16_t*)data)[i] = (int16_t)k; break;
      case DDK_DTYPE_INT32: ((int32_t*)data)[i] = (int32_t)k; break;
      case DDK_DTYPE_INT64: ((int64_t*)data)[i] = k; break;
      case DDK_DTYPE_BOOL: ((uint8_t*)data)[i] = (uint8_t)(r & 1); break;
      case DDK_DTYPE_FLOAT16:
      case DDK_DTYPE_BFLOAT16: {
        /* small halves: sign, exponent near 1, 7 mantissa bits; valid in
         * both encodings (bfloat16 0x3f80 = 1.0, float16 0x3c00 = 1.0) */
        uint16_t base = dt == DDK_DTYPE_FLOAT16 ? 0x3800 : 0x3f00;
        ((uint16_t*)data)[i] = (uint16_t)(base | (r & 0x7f) | ((r >> 8 & 1) << 15));
        break;
      }
      default: memset((uint8_t*)data + (size_t)i * ddk_dtype_size(dt), 0,
                      ddk_dtype_size(dt));
    }
  }
}

static int cmd_run(const cli_args* a) {
  session s;
  int rc = session_open(a, &s, true);
  ddk_method* m = NULL;
  void* scratch = NULL;
  char err[2048];
  ddk_status st;
  if (rc != 0) goto done;
  st = ddk_method_create(s.rt, s.program, &a->option_list, &m, err, sizeof err);
  if (st != DDK_OK) {
    rc = report(st, "init", err);
    goto done;
  }
  uint32_t nin = ddk_method_num_inputs(m);
  if (a->num_inputs != 0 && a->num_inputs != nin) {
    char msg[128];
    snprintf(msg, sizeof msg, "the program has %u input(s), %u --input given",
             nin, a->num_inputs);
    rc = report(DDK_INVALID_ARGUMENT, "inputs", msg);
    goto done;
  }
  uint64_t rng = a->seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
  for (uint32_t i = 0; i < nin; ++i) {
    const ddk_tensor* spec = ddk_method_input_spec(m, i);
    if (a->num_inputs > 0) {
      npy_array arr;
      st = npy_read(a->inputs[i], &arr, err, sizeof err);
      if (st == DDK_OK) st = npy_convert(&arr, spec->dtype, err, sizeof err);
      if (st == DDK_OK)
        st = ddk_method_set_input(m, i, arr.dtype, arr.rank, arr.sizes,
                                  arr.data, arr.nbytes, err, sizeof err);
      npy_free(&arr);
      if (st != DDK_OK) {
        rc = report(st, a->inputs[i], err);
        goto done;
      }
    } else {
      size_t nbytes = ddk_dtype_size(spec->dtype) * (size_t)ddk_tensor_numel(spec);
      scratch = malloc(nbytes ? nbytes : 1);
      if (scratch == NULL) {
        rc = report(DDK_OUT_OF_MEMORY, "inputs", "out of memory");
        goto done;
      }
      fill_random(scratch, spec->dtype, ddk_tensor_numel(spec), &rng);
      st = ddk_method_set_input(m, i, spec->dtype, spec->rank, spec->sizes,
                                scratch, nbytes, err, sizeof err);
      free(scratch);
      scratch = NULL;
      if (st != DDK_OK) {
        rc = report(st, "inputs", err);
        goto done;
      }
    }
  }
  for (long it = 0; it < a->iterations; ++it) {
    st = ddk_method_execute(m, err, sizeof err);
    if (st != DDK_OK) {
      rc = report(st, "execute", err);
      goto done;
    }
  }
  if (a->output_dir != NULL) mkdir(a->output_dir, 0777);
  for (uint32_t i = 0; i < ddk_method_num_outputs(m); ++i) {
    const ddk_tensor* t = ddk_method_output(m, i);
    printf("output %u: %s ", i, ddk_dtype_name(t->dtype));
    print_shape(stdout, t, false);
    if (t->dtype == DDK_DTYPE_FLOAT32) {
      int64_t n = ddk_tensor_numel(t);
      printf(" [");
      for (int64_t k = 0; k < n && k < 6; ++k)
        printf("%s%.6g", k ? ", " : "", (double)((const float*)t->data)[k]);
      printf("%s]", n > 6 ? ", ..." : "");
    }
    printf("\n");
    if (a->output_dir != NULL) {
      char path[4096];
      snprintf(path, sizeof path, "%s/output_%u.npy", a->output_dir, i);
      st = npy_write(path, t, err, sizeof err);
      if (st != DDK_OK) {
        rc = report(st, "output", err);
        goto done;
      }
    }
  }
  for (uint32_t d = 0; d < s.program->num_delegates; ++d)
    printf("delegate %u: %s took %u node(s)%s\n", d,
           s.program->delegates[d].backend_id,
           s.program->delegates[d].num_nodes,
           ddk_method_delegate_fell_back(m, d) ? " (its init failed: ran on the portable "
                                                 "kernels, delegate_fallback)" : "");
done:
  free(scratch);
  ddk_method_destroy(m);
  session_close(&s);
  return rc;
}

/* export, zoo and compare are Python (torch.export, torchvision): hand
 * them to `python3 -m ddk` (DDK_PYTHON overrides the interpreter), with
 * this source tree's python/ on PYTHONPATH and this build's libddk.so as
 * DDK_LIBRARY unless those are set. Returns only if exec fails. */
static int exec_python(int argc, char** argv) {
  char exe[1024];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char* slash = strrchr(exe, '/');
    if (slash != NULL) {
      *slash = '\0';
      char lib[1100];
      snprintf(lib, sizeof lib, "%s/libddk.so", exe);
      if (access(lib, R_OK) == 0) setenv("DDK_LIBRARY", lib, 0);
    }
  }
  const char* old = getenv("PYTHONPATH");
  char path[4096];
  snprintf(path, sizeof path, "%s%s%s", DDK_PYTHON_DIR, old && *old ? ":" : "",
           old && *old ? old : "");
  setenv("PYTHONPATH", path, 1);
  const char* python = getenv("DDK_PYTHON");
  if (python == NULL || *python == '\0') python = "python3";
  char** args = calloc((size_t)argc + 3, sizeof *args);
  if (args == NULL) return report(DDK_OUT_OF_MEMORY, argv[1], "out of memory");
  args[0] = (char*)python;
  args[1] = "-m";
  args[2] = "ddk";
  for (int i = 1; i < argc; ++i) args[i + 2] = argv[i];
  execvp(python, args);
  fprintf(stderr, "ddk: %s needs Python: cannot run %s: %s\n", argv[1], python,
          strerror(errno));
  free(args);
  return EXIT_RUNTIME;
}

int main(int argc, char** argv) {
  if (argc >= 2 && (strcmp(argv[1], "export") == 0 || strcmp(argv[1], "zoo") == 0 ||
                    strcmp(argv[1], "compare") == 0 || strcmp(argv[1], "profile") == 0)) {
    default_backend_path(); /* backends by name, as in ddk run */
    return exec_python(argc, argv);
  }
  cli_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != 0) return rc;
  default_backend_path();
  if (strcmp(a.command, "ops") == 0) return cmd_ops(&a);
  if (strcmp(a.command, "backends") == 0) return cmd_backends(&a);
  if (strcmp(a.command, "inspect") == 0) return cmd_inspect(&a);
  if (strcmp(a.command, "run") == 0) return cmd_run(&a);
  if (strcmp(a.command, "lower") == 0) return cmd_lower(&a);
  if (strcmp(a.command, "--help") == 0 || strcmp(a.command, "help") == 0) {
    usage(NULL);
    return 0;
  }
  fprintf(stderr, "ddk: unknown command '%s'\n", a.command);
  return usage(NULL);
}
