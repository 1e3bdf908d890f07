/*
 * ddk_conform — runs the cases of a case file against one backend and
 * writes one JSON result per case: the conformance suite's engine, and its
 * no-Python path (a case file plus this runner is all a target needs).
 *
 *   ddk_conform --cases FILE --backend NAME_OR_PATH [--results OUT.jsonl]
 *               [--timeout-ms N] [--guard-bytes N] [--ops PREFIX]
 *
 * Every case runs in its own child process (fork), so a backend that
 * crashes or hangs costs one case. In the child the case becomes a one-op
 * program whose inputs are program inputs; it is lowered for the backend
 * and run with the method's debug checks on (guard bytes around every
 * output, inputs hashed before and after), then run again on the portable
 * kernels (the reference), and the outputs are compared under the op's
 * tolerance (reference_runtime/testing/case_file.h). The runtime's
 * allocator counts: whatever the backend still holds after its delegate is
 * destroyed and the runtime is gone is a leak.
 *
 * Outcomes (the "outcome" field):
 *   pass                  agrees with the reference
 *   fail                  numbers differ beyond the tolerance (or dtype/shape)
 *   unsupported           the backend did not claim the node (not a failure)
 *   claimed-but-broken    claimed, then partition/preprocess/init/execute
 *                         returned an error ("stage" says which)
 *   crash                 the child died (signal) — a segfault, an abort
 *   hang                  no result within the time limit
 *   out-of-bounds-write   the backend wrote outside an output buffer
 *   input-modified        the backend changed one of its inputs
 *   leak                  allocations through the runtime's allocator did
 *                         not balance after destroy
 *   error                 the reference itself could not run the case (a
 *                         harness problem, reported, never a pass)
 * Cases PyTorch refuses (golden "refusal" cases) are skipped: the program
 * cannot even be built. Each result also carries max_abs, max_ulp, nmse,
 * bias and the worst element (index, backend value, reference value).
 *
 * Exit status: 0 when every case passed or was unsupported, 1 otherwise,
 * 2 on bad usage or an unreadable case file.
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

#include "case_file.h"
#include "ddk/program.h"
#include "ddk/runtime.h"

typedef struct args {
  const char* cases;
  const char* backend;
  const char* results;
  const char* ops;
  long timeout_ms;
  long guard;
} args;

/* ---- the counting allocator (leak check) -------------------------------- */

typedef struct counting {
  long live_blocks;
  size_t live_bytes;
} counting;

static void* c_alloc(void* self, size_t size, size_t align) {
  counting* c = self;
  void* p = NULL;
  if (posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, size ? size : 1) != 0)
    return NULL;
  c->live_blocks++;
  c->live_bytes += size;
  return p;
}

static void c_free(void* self, void* ptr, size_t size) {
  counting* c = self;
  if (ptr == NULL) return;
  c->live_blocks--;
  c->live_bytes -= size;
  free(ptr);
}

/* ---- one result ---------------------------------------------------------- */

typedef struct result {
  const char* outcome;
  char stage[32];
  char detail[768];
  ddk_case_stats stats;
  bool has_stats;
} result;

static void json_str(FILE* f, const char* s) {
  fputc('"', f);
  for (; *s; ++s) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

static void json_num(FILE* f, double v) {
  if (v != v || v > 1e300 || v < -1e300)
    fprintf(f, "null");
  else
    fprintf(f, "%.9g", v);
}

static void write_result(FILE* f, const ddk_case* c, const result* r, double ms) {
  fprintf(f, "{\"case\": ");
  json_str(f, c->name);
  fprintf(f, ", \"op\": ");
  json_str(f, c->op);
  fprintf(f, ", \"outcome\": ");
  json_str(f, r->outcome);
  fprintf(f, ", \"stage\": ");
  json_str(f, r->stage);
  fprintf(f, ", \"detail\": ");
  json_str(f, r->detail);
  if (r->has_stats) {
    fprintf(f, ", \"max_abs\": ");
    json_num(f, r->stats.max_abs);
    fprintf(f, ", \"max_ulp\": ");
    json_num(f, r->stats.max_ulp);
    fprintf(f, ", \"nmse\": ");
    json_num(f, r->stats.nmse);
    fprintf(f, ", \"bias\": ");
    json_num(f, r->stats.bias);
    fprintf(f, ", \"worst_index\": %lld, \"worst_got\": ", (long long)r->stats.worst);
    json_num(f, r->stats.worst_got);
    fprintf(f, ", \"worst_want\": ");
    json_num(f, r->stats.worst_want);
  }
  fprintf(f, ", \"time_ms\": %.3f}\n", ms);
}

/* ---- running one case (in the child) ------------------------------------ */

/* Sets every program input of `m` from the case's input tensors. */
static ddk_status set_inputs(ddk_method* m, const ddk_program* p, const ddk_case* c, char* err,
                             size_t cap) {
  for (uint32_t i = 0; i < p->num_inputs; ++i) {
    const ddk_tensor* t = &c->values[p->inputs[i]];
    ddk_status st =
        ddk_method_set_input(m, i, t->dtype, t->rank, t->sizes, t->data, t->capacity, err, cap);
    if (st != DDK_OK) return st;
  }
  return DDK_OK;
}

static void fail(result* r, const char* outcome, const char* stage, ddk_status st,
                 const char* msg) {
  r->outcome = outcome;
  snprintf(r->stage, sizeof r->stage, "%s", stage);
  snprintf(r->detail, sizeof r->detail, "%s: %s", ddk_status_name(st), msg);
}

static void run_case(const args* a, const ddk_case* c, result* r) {
  memset(r, 0, sizeof *r);
  r->outcome = "error";
  char err[512] = "";
  const ddk_op_info* info = ddk_op_find(c->op);
  if (info == NULL) {
    snprintf(r->detail, sizeof r->detail, "unknown op %s", c->op);
    return;
  }
  /* the declared output shapes: what inference gives */
  ddk_tensor declared[DDK_CASE_MAX_VALUES];
  memcpy(declared, c->values, sizeof declared);
  ddk_node_view node = ddk_case_node(c, info);
  ddk_status st = ddk_infer_node(&node, declared, err, sizeof err);
  if (st != DDK_OK) {
    fail(r, "error", "reference", st, err);
    return;
  }
  counting cnt = {0, 0};
  ddk_allocator alloc = {&cnt, c_alloc, c_free};
  ddk_runtime* rt = NULL;
  const ddk_backend* be = NULL;
  void* bytes = NULL;
  size_t size = 0;
  ddk_program *prog = NULL, *low = NULL;
  ddk_method *mb = NULL, *mr = NULL;
  st = ddk_runtime_create(&alloc, &rt, err, sizeof err);
  if (st == DDK_OK) st = ddk_runtime_add_backend(rt, a->backend, &be, err, sizeof err);
  if (st != DDK_OK) {
    fail(r, "error", "load", st, err);
    goto cleanup;
  }
  st = ddk_case_program(c, info, declared, true, &bytes, &size, err, sizeof err);
  if (st == DDK_OK) st = ddk_program_load_buffer(bytes, size, true, &alloc, &prog, err, sizeof err);
  if (st != DDK_OK) {
    fail(r, "error", "program", st, err);
    goto cleanup;
  }
  /* the backend: lower, init, execute with the debug checks */
  const char* names[1] = {be->name};
  st = ddk_runtime_lower(rt, prog, names, 1, NULL, &low, err, sizeof err);
  if (st != DDK_OK) {
    fail(r, "claimed-but-broken", strstr(err, "preprocess") ? "preprocess" : "partition", st, err);
    goto cleanup;
  }
  if (low->num_delegates == 0) {
    r->outcome = "unsupported";
    snprintf(r->detail, sizeof r->detail, "%s did not claim the node", be->name);
    goto cleanup;
  }
  ddk_option opt[2] = {
      {.key = "guard_bytes", .type = DDK_OPTION_INT, .value.i = a->guard},
      {.key = "check_inputs", .type = DDK_OPTION_BOOL, .value.b = true},
  };
  ddk_options opts = {DDK_STRUCT_HEADER_INIT(ddk_options), 2, opt};
  st = ddk_method_create(rt, low, &opts, &mb, err, sizeof err);
  if (st != DDK_OK) {
    fail(r, "claimed-but-broken", "init", st, err);
    goto cleanup;
  }
  st = set_inputs(mb, low, c, err, sizeof err);
  if (st == DDK_OK) st = ddk_method_execute(mb, err, sizeof err);
  if (st == DDK_OUT_OF_BOUNDS_WRITE) {
    fail(r, "out-of-bounds-write", "execute", st, err);
    goto cleanup;
  }
  if (st == DDK_INPUT_MODIFIED) {
    fail(r, "input-modified", "execute", st, err);
    goto cleanup;
  }
  if (st != DDK_OK) {
    fail(r, "claimed-but-broken", "execute", st, err);
    goto cleanup;
  }
  /* the reference: the same program on the portable kernels */
  st = ddk_method_create(rt, prog, NULL, &mr, err, sizeof err);
  if (st == DDK_OK) st = set_inputs(mr, prog, c, err, sizeof err);
  if (st == DDK_OK) st = ddk_method_execute(mr, err, sizeof err);
  if (st != DDK_OK) {
    fail(r, "error", "reference", st, err);
    goto cleanup;
  }
  r->outcome = "pass";
  r->has_stats = true;
  for (uint32_t i = 0; i < c->num_outputs; ++i) {
    ddk_case_stats s;
    char msg[512] = "";
    bool ok = ddk_case_compare(c, c->outputs[i], ddk_method_output(mb, i), ddk_method_output(mr, i),
                               &s, msg, sizeof msg);
    if (i == 0 || s.max_abs > r->stats.max_abs || !ok) r->stats = s;
    if (!ok) {
      r->outcome = "fail";
      snprintf(r->detail, sizeof r->detail, "output %u: %s", i, msg);
      break;
    }
  }
cleanup:
  ddk_method_destroy(mb);
  ddk_method_destroy(mr);
  ddk_program_destroy(low);
  ddk_program_destroy(prog);
  if (bytes != NULL) ddk_allocator_system()->free(ddk_allocator_system()->self, bytes, size);
  ddk_runtime_destroy(rt);
  if (cnt.live_blocks != 0 && strcmp(r->outcome, "pass") == 0) {
    r->outcome = "leak";
    snprintf(r->stage, sizeof r->stage, "destroy");
    snprintf(r->detail, sizeof r->detail,
             "%ld allocation(s), %zu bytes, not freed after the delegate and runtime were "
             "destroyed",
             cnt.live_blocks, cnt.live_bytes);
  }
}

/* ---- isolation ----------------------------------------------------------- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Runs case `c` in a child; writes its result line to `out`. Returns the
 * outcome name. */
static const char* run_isolated(const args* a, const ddk_case* c, FILE* out) {
  int fds[2];
  double t0 = now_ms();
  result r;
  memset(&r, 0, sizeof r);
  if (pipe(fds) != 0) {
    r.outcome = "error";
    snprintf(r.detail, sizeof r.detail, "pipe: %s", strerror(errno));
    write_result(out, c, &r, 0.0);
    return r.outcome;
  }
  fflush(out);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    FILE* w = fdopen(fds[1], "w");
    result cr;
    run_case(a, c, &cr);
    if (w != NULL) {
      write_result(w, c, &cr, now_ms() - t0);
      fclose(w);
    }
    _exit(0);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    r.outcome = "error";
    snprintf(r.detail, sizeof r.detail, "fork: %s", strerror(errno));
    write_result(out, c, &r, 0.0);
    return r.outcome;
  }
  char line[8192];
  size_t used = 0;
  bool timed_out = false;
  for (;;) {
    long left = a->timeout_ms - (long)(now_ms() - t0);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    int n = poll(&p, 1, (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t k = read(fds[0], line + used, sizeof line - 1 - used);
    if (k <= 0) break; /* EOF: the child is done (or died) */
    used += (size_t)k;
    if (used >= sizeof line - 1) break;
  }
  close(fds[0]);
  line[used] = '\0';
  int status = 0;
  if (timed_out) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    r.outcome = "hang";
    snprintf(r.stage, sizeof r.stage, "execute");
    snprintf(r.detail, sizeof r.detail, "no result within %ld ms (killed)", a->timeout_ms);
    write_result(out, c, &r, now_ms() - t0);
    return r.outcome;
  }
  waitpid(pid, &status, 0);
  if (used > 0 && line[used - 1] == '\n' && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    fputs(line, out);
    const char* o = strstr(line, "\"outcome\": \"");
    static char name[32];
    name[0] = '\0';
    if (o != NULL) sscanf(o + 12, "%31[^\"]", name);
    return name;
  }
  r.outcome = "crash";
  if (WIFSIGNALED(status))
    snprintf(r.detail, sizeof r.detail, "the case process died of signal %d (%s)", WTERMSIG(status),
             strsignal(WTERMSIG(status)));
  else
    snprintf(r.detail, sizeof r.detail, "the case process exited with status %d, no result",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  write_result(out, c, &r, now_ms() - t0);
  return r.outcome;
}

/* ---- main ---------------------------------------------------------------- */

static int usage(const char* why) {
  if (why) fprintf(stderr, "ddk_conform: %s\n", why);
  fprintf(stderr,
          "usage: ddk_conform --cases FILE --backend NAME_OR_PATH [--results OUT.jsonl]\n"
          "                   [--timeout-ms N] [--guard-bytes N] [--ops PREFIX]\n");
  return 2;
}

int main(int argc, char** argv) {
  args a = {NULL, NULL, NULL, NULL, 10000, 64};
  for (int i = 1; i < argc; ++i) {
    const char* s = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) return usage("every option takes a value");
    if (strcmp(s, "--cases") == 0)
      a.cases = v;
    else if (strcmp(s, "--backend") == 0)
      a.backend = v;
    else if (strcmp(s, "--results") == 0)
      a.results = v;
    else if (strcmp(s, "--ops") == 0)
      a.ops = v;
    else if (strcmp(s, "--timeout-ms") == 0)
      a.timeout_ms = strtol(v, NULL, 10);
    else if (strcmp(s, "--guard-bytes") == 0)
      a.guard = strtol(v, NULL, 10);
    else
      return usage("unknown option");
    ++i;
  }
  if (a.cases == NULL || a.backend == NULL) return usage("--cases and --backend are required");
  if (a.timeout_ms <= 0 || a.guard < 0 || a.guard > (1 << 20))
    return usage("bad --timeout-ms or --guard-bytes");
  char err[512];
  ddk_case_file f;
  if (!ddk_case_file_open(a.cases, &f, err, sizeof err)) {
    fprintf(stderr, "ddk_conform: %s\n", err);
    return 2;
  }
  FILE* out = a.results ? fopen(a.results, "w") : stdout;
  if (out == NULL) {
    fprintf(stderr, "ddk_conform: cannot write %s\n", a.results);
    ddk_case_file_close(&f);
    return 2;
  }
  static const char* const kinds[] = {"pass",  "fail", "unsupported",         "claimed-but-broken",
                                      "crash", "hang", "out-of-bounds-write", "input-modified",
                                      "leak",  "error"};
  long counts[10] = {0};
  ddk_case* c = malloc(sizeof *c);
  int r = 0;
  while (c != NULL && (r = ddk_case_file_next(&f, c)) == 1) {
    if (!(c->flags & DDK_CASE_REFUSED) &&
        (a.ops == NULL || strncmp(c->op, a.ops, strlen(a.ops)) == 0)) {
      const char* o = run_isolated(&a, c, out);
      for (int k = 0; k < 10; ++k)
        if (strcmp(o, kinds[k]) == 0) ++counts[k];
    }
    ddk_case_free(c);
  }
  free(c);
  if (out != stdout) fclose(out);
  ddk_case_file_close(&f);
  if (r < 0) {
    fprintf(stderr, "ddk_conform: case %u of %s is malformed\n", f.index, a.cases);
    return 2;
  }
  long bad = 0;
  for (int k = 0; k < 10; ++k) {
    if (counts[k]) fprintf(stderr, "%s%s %ld", bad || k ? ", " : "", kinds[k], counts[k]);
    if (k != 0 && k != 2) bad += counts[k];
  }
  fprintf(stderr, "\n");
  return bad ? 1 : 0;
}
