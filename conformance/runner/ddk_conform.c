/*
 * ddk_conform — runs conformance cases against one or more backends and
 * writes one JSON result per case: the conformance suite's engine, and its
 * no-Python path (a bundle plus this runner is all a target needs).
 *
 *   ddk_conform (--cases FILE | --graphs FILE.tsv | --bundle DIR)...
 *               --backend NAME_OR_PATH [--backend NAME_OR_PATH]...
 *               [--option KEY=VALUE]... [--profile NAME]
 *               [--results OUT.jsonl] [--info-json FILE]
 *               [--timeout-ms N] [--guard-bytes N] [--ops PREFIX] [--progress]
 *   ddk_conform --sha256 FILE...
 *
 * Flags:
 *   --cases FILE       a case file (DDKGOLD2, written by
 *                      reference_runtime/kernels/tests/gen_golden.py): one
 *                      op case per case
 *   --graphs FILE.tsv  graph cases: a TSV with a header line and the
 *                      columns name, program, inputs, rtol, atol, tags
 *                      (optional: backends, options — a case's further
 *                      backends and own options; graph_case.c); paths
 *                      relative to the TSV's folder. With --cases, op
 *                      cases run first, then graph cases.
 *   --bundle DIR       a bundle (bundle.c): DIR/SHA256SUMS is verified
 *                      (every file, with this runner's own SHA-256) and
 *                      DIR/BUNDLE checked (format 1, this op table) before
 *                      anything runs; then runs as if --cases DIR/<cases>
 *                      --graphs DIR/<graphs> were given. Not combined with
 *                      --cases / --graphs.
 *   --backend X        a backend plugin path or a registered name (found
 *                      on DDK_BACKEND_PATH). Repeatable: backends are
 *                      registered in the order given and offered the nodes
 *                      in that priority order (ddk_runtime_lower). At most
 *                      8.
 *   --option KEY=VALUE a typed option (true/false -> bool, a decimal
 *                      integer -> int, a finite decimal float -> float,
 *                      else a string) passed to lowering (partition,
 *                      preprocess) and to the backend's method (init,
 *                      execute) with the debug checks. Repeatable; a key
 *                      once; not guard_bytes / check_inputs (the runner's).
 *   --profile NAME     the accuracy profile the comparison applies:
 *                      default, fp16_accum, bf16_accum, tf32 or fast_math
 *                      (docs/tolerances.md, "Accuracy profiles"). When not
 *                      given: the option accuracy_profile, else a token
 *                      "accuracy_profile=NAME" in the first backend's
 *                      query detail, else default. An unknown name given
 *                      here or as the option is a usage error.
 *   --results FILE     where the result lines go (default stdout). Only
 *                      result lines are written there: pure JSONL.
 *   --info-json FILE   writes, before running, one JSON object: runner
 *                      and runner_version, op_table_hash, profile and
 *                      profile_source (flag, option, backend, default),
 *                      cases/graphs/bundle, timeout_ms, guard_bytes,
 *                      options (typed), and per backend (in order): arg,
 *                      loaded, error, name, version, abi ("1.1"), path,
 *                      available, device, detail. Given without cases,
 *                      graphs or a bundle it only writes this and exits.
 *   --timeout-ms N     per-case time limit (default 10000)
 *   --guard-bytes N    guard bytes around planned values (default 64)
 *   --ops PREFIX       only op cases whose op name starts with PREFIX
 *                      (graph cases are not filtered)
 *   --progress         a line on stderr every ~2 s:
 *                      "ddk_conform: 1234/5678 cases, 3 failing"
 *   --sha256 FILE...   prints each file's SHA-256 as `sha256sum` does and
 *                      exits (for checking bundles by hand, and the
 *                      digest's tests)
 *
 * Every case runs in its own child process (fork), so a backend that
 * crashes or hangs costs one case. Before the child runs a backend it
 * loads and probes the backends once in a child of its own (a plugin that
 * crashes while loading cannot take the runner down) for --info-json and
 * the profile.
 *
 * Op cases (op_case.c): the case becomes a one-op program whose inputs
 * are program inputs; the portable kernels run it and must agree with the
 * case file's expected (PyTorch) outputs (else outcome "error", stage
 * "reference": on a target, miscompiled reference kernels or a case file
 * of another version); it is lowered for the backends and run with the
 * method's debug checks on (guard bytes around every planned value,
 * inputs hashed before and after), and the outputs are compared with the
 * reference under the op's tolerance and the accuracy profile
 * (reference_runtime/testing/case_file.h). Cases PyTorch refuses (golden
 * "refusal" cases) are skipped.
 *
 * Graph cases (graph_case.c): a program file and .npy inputs, lowered and
 * run the same way, every output compared with the unlowered program's on
 * the portable kernels under the row's rtol/atol.
 *
 * The runtime's allocator counts: whatever the backend still holds after
 * its delegate is destroyed and the runtime is gone is a leak.
 *
 * Outcomes (the "outcome" field):
 *   pass                  agrees with the reference
 *   fail                  numbers differ beyond the tolerance (or dtype/shape)
 *   unsupported           no node was delegated (not a failure)
 *   claimed-but-broken    claimed, then partition/preprocess/init/execute
 *                         returned an error ("stage" says which)
 *   crash                 the child died (signal); "stage" is the last one
 *                         it entered (load, reference, lower, init,
 *                         execute, destroy)
 *   hang                  no result within the time limit
 *   out-of-bounds-write   the backend wrote outside an output buffer
 *   input-modified        the backend changed one of its inputs
 *   leak                  allocations through the runtime's allocator did
 *                         not balance after destroy
 *   error                 the harness could not run or trust the case: the
 *                         backend did not load (stage load), the program or
 *                         inputs are bad, the reference failed or disagrees
 *                         with the expected output (stage reference) —
 *                         reported, never a pass
 *
 * A result line: {"kind": "op"|"graph", "index": ordinal of the case in
 * its file (0-based, per kind), "case", "op" ("" for graphs), "tags"
 * (graphs), "backend" (the backends that took nodes, comma-joined, or the
 * first backend), "profile", "outcome", "stage", "detail", for graphs
 * "nodes", "delegated", "partitions", and where compared: max_abs,
 * max_ulp (op cases), nmse, bias, worst_output (graphs), worst_index,
 * worst_got, worst_want; "time_ms"}.
 *
 * Exit status: 0 when every case passed or was unsupported, 1 otherwise,
 * 2 on bad usage, an unreadable case or graph file, or a bundle that does
 * not verify. The last stderr line counts the outcomes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conform.h"
#include "sha256.h"

typedef struct args {
  const char* cases;
  const char* graphs;
  const char* bundle;
  const char* results;
  const char* info_json;
  const char* ops;
  const char* profile;
  bool progress;
} args;

static int usage(const char* why) {
  if (why) fprintf(stderr, "ddk_conform: %s\n", why);
  fprintf(stderr,
          "usage: ddk_conform (--cases FILE | --graphs FILE.tsv | --bundle DIR)...\n"
          "                   --backend NAME_OR_PATH [--backend NAME_OR_PATH]...\n"
          "                   [--option KEY=VALUE]... [--profile "
          "default|fp16_accum|bf16_accum|tf32|fast_math]\n"
          "                   [--results OUT.jsonl] [--info-json FILE] [--timeout-ms N]\n"
          "                   [--guard-bytes N] [--ops PREFIX] [--progress]\n"
          "       ddk_conform --sha256 FILE...\n");
  return 2;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ---- the probe: the backends loaded once, in a child --------------------- */

typedef struct probe_entry {
  bool loaded, available;
  uint32_t abi;
  char name[128], version[64], path[1024], device[128], detail[256], error[512];
} probe_entry;

static void probe_child(const ddk_conform_config* cfg, int fd) {
  probe_entry e[DDK_CONFORM_MAX_BACKENDS];
  memset(e, 0, sizeof e);
  ddk_runtime* rt = NULL;
  char err[512] = "";
  if (ddk_runtime_create(NULL, &rt, err, sizeof err) == DDK_OK) {
    for (uint32_t i = 0; i < cfg->num_backends; ++i) {
      uint32_t before = ddk_runtime_backend_count(rt);
      ddk_status st =
          ddk_runtime_add_backend(rt, cfg->backends[i], NULL, e[i].error, sizeof e[i].error);
      ddk_backend_entry_info info;
      if (st != DDK_OK || ddk_runtime_backend_count(rt) == before ||
          !ddk_runtime_backend_get(rt, before, &info)) {
        if (st == DDK_OK) snprintf(e[i].error, sizeof e[i].error, "registered twice");
        continue;
      }
      e[i].loaded = true;
      e[i].available = info.info.available;
      e[i].abi = info.abi_version;
      snprintf(e[i].name, sizeof e[i].name, "%s", info.name ? info.name : "");
      snprintf(e[i].version, sizeof e[i].version, "%s", info.version ? info.version : "");
      snprintf(e[i].path, sizeof e[i].path, "%s", info.path ? info.path : "");
      snprintf(e[i].device, sizeof e[i].device, "%.127s", info.info.device_name);
      snprintf(e[i].detail, sizeof e[i].detail, "%.255s", info.info.detail);
    }
  }
  for (uint32_t i = 0; rt == NULL && i < cfg->num_backends; ++i)
    snprintf(e[i].error, sizeof e[i].error, "%s", err);
  const char* p = (const char*)e;
  size_t left = cfg->num_backends * sizeof e[0];
  while (left > 0) {
    ssize_t k = write(fd, p, left);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    p += k;
    left -= (size_t)k;
  }
  ddk_runtime_destroy(rt);
}

/* Fills e[0..num_backends) from a child; false (with e[].error set) when
 * the child crashed or hung. */
static bool probe_backends(const ddk_conform_config* cfg, probe_entry* e) {
  memset(e, 0, cfg->num_backends * sizeof e[0]);
  int fds[2];
  if (pipe(fds) != 0) return false;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(STDERR_FILENO, STDOUT_FILENO); /* stdout holds result lines only */
    probe_child(cfg, fds[1]);
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return false;
  }
  size_t want = cfg->num_backends * sizeof e[0], got = 0;
  double t0 = now_ms();
  bool timed_out = false;
  while (got < want) {
    long left = cfg->timeout_ms - (long)(now_ms() - t0);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    if (poll(&p, 1, (int)left) <= 0) continue;
    ssize_t k = read(fds[0], (char*)e + got, want - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got == want) return true;
  memset(e, 0, want);
  for (uint32_t i = 0; i < cfg->num_backends; ++i)
    snprintf(e[i].error, sizeof e[i].error, "loading the backends %s",
             timed_out ? "hung (killed)" : "crashed the probe process");
  return false;
}

/* The NAME of a token "accuracy_profile=NAME" in `detail`, or NULL. */
static const char* detail_profile(const char* detail, char* buf, size_t cap) {
  static const char kKey[] = "accuracy_profile=";
  for (const char* p = strstr(detail, kKey); p != NULL; p = strstr(p + 1, kKey)) {
    bool starts =
        p == detail || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
                         (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'));
    if (!starts) continue;
    const char* v = p + sizeof kKey - 1;
    size_t n = 0;
    while (n + 1 < cap &&
           ((v[n] >= 'a' && v[n] <= 'z') || (v[n] >= '0' && v[n] <= '9') || v[n] == '_'))
      buf[n] = v[n], ++n;
    buf[n] = '\0';
    return buf;
  }
  return NULL;
}

/* ---- --info-json ----------------------------------------------------------- */

static void json_key(FILE* f, const char* key, const char* value, bool comma) {
  fprintf(f, "%s\"%s\": ", comma ? ", " : "", key);
  if (value == NULL)
    fputs("null", f);
  else
    ddk_conform_json_str(f, value);
}

static bool write_info(const char* path, const ddk_conform_config* cfg, const args* a,
                       const char* profile_source, const probe_entry* e) {
  FILE* f = fopen(path, "w");
  if (f == NULL) return false;
  char hash[32];
  snprintf(hash, sizeof hash, "0x%016llx", (unsigned long long)ddk_op_table_hash());
  fputc('{', f);
  json_key(f, "runner", "ddk_conform", false);
  json_key(f, "runner_version", ddk_runtime_version(), true);
  json_key(f, "op_table_hash", hash, true);
  json_key(f, "profile", ddk_accuracy_profile_name(cfg->profile), true);
  json_key(f, "profile_source", profile_source, true);
  json_key(f, "cases", a->cases, true);
  json_key(f, "graphs", a->graphs, true);
  json_key(f, "bundle", a->bundle, true);
  fprintf(f, ", \"timeout_ms\": %ld, \"guard_bytes\": %ld, \"options\": {", cfg->timeout_ms,
          cfg->guard_bytes);
  for (uint32_t i = 0; i < cfg->num_options; ++i) {
    if (i) fputs(", ", f);
    ddk_conform_json_str(f, cfg->options[i].key);
    fputs(": ", f);
    ddk_conform_json_option_value(f, &cfg->options[i]);
  }
  fputs("}, \"backends\": [", f);
  for (uint32_t i = 0; i < cfg->num_backends; ++i) {
    char abi[32];
    snprintf(abi, sizeof abi, "%u.%u", DDK_ABI_VERSION_MAJOR_OF(e[i].abi),
             DDK_ABI_VERSION_MINOR_OF(e[i].abi));
    fputs(i ? ", {" : "{", f);
    json_key(f, "arg", cfg->backends[i], false);
    fprintf(f, ", \"loaded\": %s", e[i].loaded ? "true" : "false");
    json_key(f, "error", e[i].error, true);
    json_key(f, "name", e[i].loaded ? e[i].name : NULL, true);
    json_key(f, "version", e[i].loaded ? e[i].version : NULL, true);
    json_key(f, "abi", e[i].loaded ? abi : NULL, true);
    json_key(f, "path", e[i].loaded ? e[i].path : NULL, true);
    fprintf(f, ", \"available\": %s", e[i].loaded && e[i].available ? "true" : "false");
    json_key(f, "device", e[i].loaded ? e[i].device : NULL, true);
    json_key(f, "detail", e[i].loaded ? e[i].detail : NULL, true);
    fputc('}', f);
  }
  fputs("]}\n", f);
  return fclose(f) == 0;
}

/* ---- --sha256 ---------------------------------------------------------------- */

static int sha256_main(int argc, char** argv) {
  int rc = 0;
  for (int i = 2; i < argc; ++i) {
    unsigned char d[DDK_SHA256_DIGEST_SIZE];
    char hex[65];
    if (!ddk_sha256_file(argv[i], d)) {
      fprintf(stderr, "ddk_conform: cannot read %s\n", argv[i]);
      rc = 2;
      continue;
    }
    ddk_sha256_hex(d, hex);
    printf("%s  %s\n", hex, argv[i]);
  }
  return argc > 2 ? rc : usage("--sha256 needs files");
}

/* ---- main -------------------------------------------------------------------- */

static const char* const kOutcomes[] = {
    "pass",  "fail", "unsupported",         "claimed-but-broken",
    "crash", "hang", "out-of-bounds-write", "input-modified",
    "leak",  "error"};
#define NUM_OUTCOMES (sizeof kOutcomes / sizeof kOutcomes[0])

typedef struct tally {
  long counts[NUM_OUTCOMES];
  long done, total, failing;
  bool progress;
  double last_ms;
} tally;

static void tally_progress(tally* t, bool force) {
  if (!t->progress) return;
  double now = now_ms();
  if (!force && now - t->last_ms < 2000.0) return;
  t->last_ms = now;
  fprintf(stderr, "ddk_conform: %ld/%ld cases, %ld failing\n", t->done, t->total, t->failing);
}

static void tally_add(tally* t, const char* outcome) {
  size_t k = 0;
  while (k < NUM_OUTCOMES && strcmp(outcome, kOutcomes[k]) != 0) ++k;
  if (k == NUM_OUTCOMES) k = NUM_OUTCOMES - 1; /* not a known outcome: an error */
  ++t->counts[k];
  if (k != 0 && k != 2) ++t->failing;
}

static long parse_long(const char* v, bool* ok) {
  char* end = NULL;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (end == v || *end != '\0' || errno != 0) *ok = false;
  return x;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--sha256") == 0) return sha256_main(argc, argv);
  args a;
  memset(&a, 0, sizeof a);
  static ddk_conform_config cfg;
  cfg.timeout_ms = 10000;
  cfg.guard_bytes = 64;
  bool numbers_ok = true;
  for (int i = 1; i < argc; ++i) {
    const char* s = argv[i];
    if (strcmp(s, "--progress") == 0) {
      a.progress = true;
      continue;
    }
    char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) return usage("every option but --progress takes a value");
    ++i;
    if (strcmp(s, "--cases") == 0) {
      a.cases = v;
    } else if (strcmp(s, "--graphs") == 0) {
      a.graphs = v;
    } else if (strcmp(s, "--bundle") == 0) {
      a.bundle = v;
    } else if (strcmp(s, "--backend") == 0) {
      if (cfg.num_backends == DDK_CONFORM_MAX_BACKENDS) return usage("at most 8 --backend");
      cfg.backends[cfg.num_backends++] = v;
    } else if (strcmp(s, "--option") == 0) {
      if (cfg.num_options == DDK_CONFORM_MAX_OPTIONS) return usage("at most 32 --option");
      ddk_option* o = &cfg.options[cfg.num_options];
      if (!ddk_conform_option_parse(v, o)) return usage("--option takes KEY=VALUE");
      if (strcmp(o->key, "guard_bytes") == 0 || strcmp(o->key, "check_inputs") == 0)
        return usage("guard_bytes and check_inputs are the runner's: use --guard-bytes");
      for (uint32_t k = 0; k < cfg.num_options; ++k)
        if (strcmp(cfg.options[k].key, o->key) == 0) return usage("--option: a key given twice");
      ++cfg.num_options;
    } else if (strcmp(s, "--profile") == 0) {
      a.profile = v;
    } else if (strcmp(s, "--results") == 0) {
      a.results = v;
    } else if (strcmp(s, "--info-json") == 0) {
      a.info_json = v;
    } else if (strcmp(s, "--ops") == 0) {
      a.ops = v;
    } else if (strcmp(s, "--timeout-ms") == 0) {
      cfg.timeout_ms = parse_long(v, &numbers_ok);
    } else if (strcmp(s, "--guard-bytes") == 0) {
      cfg.guard_bytes = parse_long(v, &numbers_ok);
    } else {
      return usage("unknown option");
    }
  }
  bool info_only = a.cases == NULL && a.graphs == NULL && a.bundle == NULL && a.info_json;
  if ((a.cases == NULL && a.graphs == NULL && a.bundle == NULL && !info_only) ||
      cfg.num_backends == 0)
    return usage("--backend and one of --cases, --graphs, --bundle (or --info-json) are required");
  if (a.bundle != NULL && (a.cases != NULL || a.graphs != NULL))
    return usage("--bundle runs the bundle's own cases: not with --cases or --graphs");
  if (!numbers_ok || cfg.timeout_ms <= 0 || cfg.timeout_ms > 86400000L || cfg.guard_bytes < 0 ||
      cfg.guard_bytes > (1 << 20))
    return usage("bad --timeout-ms or --guard-bytes");

  /* the profile: --profile, the option, else the first backend's word */
  const char* profile_source = "default";
  const ddk_option* popt = NULL;
  for (uint32_t k = 0; k < cfg.num_options; ++k)
    if (strcmp(cfg.options[k].key, "accuracy_profile") == 0) popt = &cfg.options[k];
  if (a.profile != NULL) {
    if (!ddk_accuracy_profile_parse(a.profile, &cfg.profile))
      return usage("--profile: not one of default, fp16_accum, bf16_accum, tf32, fast_math");
    profile_source = "flag";
  } else if (popt != NULL) {
    if (popt->type != DDK_OPTION_STRING || !ddk_accuracy_profile_parse(popt->value.s, &cfg.profile))
      return usage("--option accuracy_profile: not one of default, fp16_accum, bf16_accum, tf32, fast_math");
    profile_source = "option";
  }

  /* a bundle verifies before anything runs */
  char err[1024] = "";
  ddk_conform_bundle bundle = {NULL, NULL};
  if (a.bundle != NULL) {
    if (!ddk_conform_bundle_open(a.bundle, &bundle, err, sizeof err)) {
      fprintf(stderr, "ddk_conform: %s: %s\n", a.bundle, err);
      return 2;
    }
    a.cases = bundle.cases;
    a.graphs = bundle.graphs;
  }
  int rc = 2;
  FILE* out = NULL;
  ddk_case* c = NULL;
  ddk_case_file f;
  memset(&f, 0, sizeof f);
  ddk_conform_graph_file graphs = {NULL, 0};
  if (a.cases != NULL && !ddk_case_file_open(a.cases, &f, err, sizeof err)) {
    fprintf(stderr, "ddk_conform: %s\n", err);
    goto done;
  }
  if (a.graphs != NULL && !ddk_conform_graphs_read(a.graphs, &graphs, err, sizeof err)) {
    fprintf(stderr, "ddk_conform: %s\n", err);
    goto done;
  }

  /* the backends, probed once: names, the profile they declare, info */
  probe_entry probe[DDK_CONFORM_MAX_BACKENDS];
  probe_backends(&cfg, probe);
  snprintf(cfg.first_backend, sizeof cfg.first_backend, "%s",
           probe[0].loaded ? probe[0].name : cfg.backends[0]);
  char declared[64];
  if (a.profile == NULL && popt == NULL && probe[0].loaded &&
      detail_profile(probe[0].detail, declared, sizeof declared) != NULL) {
    if (ddk_accuracy_profile_parse(declared, &cfg.profile))
      profile_source = "backend";
    else
      fprintf(stderr,
              "ddk_conform: %s declares accuracy_profile=%s, which this runner does not know; "
              "applying the default profile\n",
              cfg.first_backend, declared);
  }
  if (a.info_json != NULL && !write_info(a.info_json, &cfg, &a, profile_source, probe)) {
    fprintf(stderr, "ddk_conform: cannot write %s\n", a.info_json);
    goto done;
  }
  if (info_only) {
    rc = 0;
    goto done;
  }
  out = a.results ? fopen(a.results, "w") : stdout;
  if (out == NULL) {
    fprintf(stderr, "ddk_conform: cannot write %s\n", a.results);
    goto done;
  }

  tally t;
  memset(&t, 0, sizeof t);
  t.progress = a.progress;
  t.total = (long)f.count + (long)graphs.count;
  t.last_ms = now_ms();
  int more = 0;
  c = a.cases != NULL ? malloc(sizeof *c) : NULL;
  while (c != NULL && (more = ddk_case_file_next(&f, c)) == 1) {
    ddk_conform_case_id id = {"op", f.index - 1, c->name, c->op, NULL};
    if (!(c->flags & DDK_CASE_REFUSED) &&
        (a.ops == NULL || strncmp(c->op, a.ops, strlen(a.ops)) == 0))
      tally_add(&t, ddk_conform_run_isolated(&cfg, &id, ddk_conform_run_op_case, c, out));
    ddk_case_free(c);
    ++t.done;
    tally_progress(&t, false);
  }
  if (more < 0) {
    fprintf(stderr, "ddk_conform: case %u of %s is malformed\n", f.index, a.cases);
    goto done;
  }
  for (uint32_t i = 0; i < graphs.count; ++i) {
    const ddk_conform_graph_case* g = &graphs.cases[i];
    ddk_conform_case_id id = {"graph", i, g->name, "", g->tags};
    tally_add(&t, ddk_conform_run_isolated(&cfg, &id, ddk_conform_run_graph_case, g, out));
    ++t.done;
    tally_progress(&t, false);
  }
  tally_progress(&t, true);
  bool first = true;
  for (size_t k = 0; k < NUM_OUTCOMES; ++k) {
    if (t.counts[k] == 0) continue;
    fprintf(stderr, "%s%s %ld", first ? "" : ", ", kOutcomes[k], t.counts[k]);
    first = false;
  }
  fprintf(stderr, "%s\n", first ? "no cases" : "");
  rc = t.failing ? 1 : 0;
done:
  free(c);
  if (out != NULL && out != stdout && fclose(out) != 0) rc = 2;
  if (out == stdout) fflush(stdout);
  ddk_case_file_close(&f);
  ddk_conform_graphs_free(&graphs);
  ddk_conform_bundle_free(&bundle);
  return rc;
}
