/*
 * conform.c — what every ddk_conform case shares: options, result lines,
 * the isolated child process, and the child's runtime session
 * (conform.h).
 */
#include "conform.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- options --------------------------------------------------------------- */

bool ddk_conform_option_parse(char* arg, ddk_option* out) {
  char* eq = strchr(arg, '=');
  if (eq == NULL || eq == arg) return false;
  *eq = '\0';
  const char* v = eq + 1;
  memset(out, 0, sizeof *out);
  out->key = arg;
  if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
    out->type = DDK_OPTION_BOOL;
    out->value.b = v[0] == 't';
    return true;
  }
  if (v[0] != '\0') {
    char* end = NULL;
    errno = 0;
    long long i = strtoll(v, &end, 10);
    if (*end == '\0' && errno == 0) {
      out->type = DDK_OPTION_INT;
      out->value.i = i;
      return true;
    }
    /* a float is digits with a point or an exponent: not "inf", "nan" or
     * hex, which strtod would also take */
    bool digits = strpbrk(v, "0123456789") != NULL && strpbrk(v, "xXnN") == NULL;
    errno = 0;
    double f = strtod(v, &end);
    if (digits && *end == '\0' && errno == 0 && isfinite(f)) {
      out->type = DDK_OPTION_FLOAT;
      out->value.f = f;
      return true;
    }
  }
  out->type = DDK_OPTION_STRING;
  out->value.s = v;
  return true;
}

/* ---- JSON ------------------------------------------------------------------ */

void ddk_conform_json_str(FILE* f, const char* s) {
  fputc('"', f);
  for (; s != NULL && *s; ++s) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7f)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

void ddk_conform_json_num(FILE* f, double v) {
  if (!isfinite(v))
    fprintf(f, "null");
  else
    fprintf(f, "%.9g", v);
}

void ddk_conform_json_option_value(FILE* f, const ddk_option* o) {
  switch (o->type) {
    case DDK_OPTION_BOOL:
      fprintf(f, o->value.b ? "true" : "false");
      break;
    case DDK_OPTION_INT:
      fprintf(f, "%lld", (long long)o->value.i);
      break;
    case DDK_OPTION_FLOAT: {
      char buf[64];
      snprintf(buf, sizeof buf, "%.17g", o->value.f);
      if (strpbrk(buf, ".e") == NULL) strcat(buf, ".0");
      fputs(buf, f);
      break;
    }
    default:
      ddk_conform_json_str(f, o->value.s);
      break;
  }
}

/* ---- results --------------------------------------------------------------- */

void ddk_conform_result_init(ddk_conform_result* r) {
  memset(r, 0, sizeof *r);
  r->outcome = "error";
  r->nodes = r->delegated = r->partitions = -1;
  r->worst_output = -1;
}

void ddk_conform_result_fail(ddk_conform_result* r, const char* outcome, const char* stage,
                             ddk_status st, const char* msg) {
  r->outcome = outcome;
  snprintf(r->stage, sizeof r->stage, "%s", stage);
  snprintf(r->detail, sizeof r->detail, "%s: %s", ddk_status_name(st), msg);
}

static void json_count(FILE* f, const char* key, int64_t v) {
  if (v < 0)
    fprintf(f, ", \"%s\": null", key);
  else
    fprintf(f, ", \"%s\": %lld", key, (long long)v);
}

void ddk_conform_write_result(FILE* f, const ddk_conform_config* cfg, const ddk_conform_case_id* id,
                              const ddk_conform_result* r, double ms) {
  fprintf(f, "{\"kind\": ");
  ddk_conform_json_str(f, id->kind);
  fprintf(f, ", \"index\": %u, \"case\": ", id->index);
  ddk_conform_json_str(f, id->name);
  fprintf(f, ", \"op\": ");
  ddk_conform_json_str(f, id->op);
  if (id->tags != NULL) {
    fprintf(f, ", \"tags\": ");
    ddk_conform_json_str(f, id->tags);
  }
  fprintf(f, ", \"backend\": ");
  ddk_conform_json_str(f, r->backend[0] ? r->backend : cfg->first_backend);
  fprintf(f, ", \"profile\": ");
  ddk_conform_json_str(f, ddk_accuracy_profile_name(cfg->profile));
  fprintf(f, ", \"outcome\": ");
  ddk_conform_json_str(f, r->outcome);
  fprintf(f, ", \"stage\": ");
  ddk_conform_json_str(f, r->stage);
  fprintf(f, ", \"detail\": ");
  ddk_conform_json_str(f, r->detail);
  if (r->is_graph) {
    json_count(f, "nodes", r->nodes);
    json_count(f, "delegated", r->delegated);
    json_count(f, "partitions", r->partitions);
  }
  if (r->has_stats) {
    fprintf(f, ", \"max_abs\": ");
    ddk_conform_json_num(f, r->stats.max_abs);
    if (!r->is_graph) {
      fprintf(f, ", \"max_ulp\": ");
      ddk_conform_json_num(f, r->stats.max_ulp);
    }
    fprintf(f, ", \"nmse\": ");
    ddk_conform_json_num(f, r->stats.nmse);
    fprintf(f, ", \"bias\": ");
    ddk_conform_json_num(f, r->stats.bias);
    if (r->is_graph) json_count(f, "worst_output", r->worst_output);
    fprintf(f, ", \"worst_index\": %lld, \"worst_got\": ", (long long)r->stats.worst);
    ddk_conform_json_num(f, r->stats.worst_got);
    fprintf(f, ", \"worst_want\": ");
    ddk_conform_json_num(f, r->stats.worst_want);
  }
  fprintf(f, ", \"time_ms\": %.3f}\n", ms);
}

/* ---- notes from the child -------------------------------------------------- */

/* The child's end of the pipe (NULL in the parent). A note is one line
 * starting with '@', flushed at once so that it survives a crash. */
static FILE* g_notes;

void ddk_conform_note_stage(const char* stage) {
  if (g_notes == NULL) return;
  fprintf(g_notes, "@stage %s\n", stage);
  fflush(g_notes);
}

void ddk_conform_note_lowered(const ddk_conform_result* r) {
  if (g_notes == NULL) return;
  fprintf(g_notes, "@lowered %lld %lld %lld %s\n", (long long)r->nodes, (long long)r->delegated,
          (long long)r->partitions, r->backend);
  fflush(g_notes);
}

/* Applies the notes in `text` (the child's output so far) to *r. */
static void apply_notes(char* text, ddk_conform_result* r) {
  for (char* line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    if (strncmp(line, "@stage ", 7) == 0) {
      snprintf(r->stage, sizeof r->stage, "%s", line + 7);
    } else if (strncmp(line, "@lowered ", 9) == 0) {
      long long n = -1, d = -1, p = -1;
      int used = 0;
      if (sscanf(line + 9, "%lld %lld %lld %n", &n, &d, &p, &used) == 3) {
        r->nodes = n;
        r->delegated = d;
        r->partitions = p;
        snprintf(r->backend, sizeof r->backend, "%s", line + 9 + used);
      }
    }
  }
}

/* ---- isolation ------------------------------------------------------------- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static const char* finish(const ddk_conform_config* cfg, const ddk_conform_case_id* id,
                          const ddk_conform_result* r, double ms, FILE* out) {
  ddk_conform_write_result(out, cfg, id, r, ms);
  return r->outcome;
}

const char* ddk_conform_run_isolated(const ddk_conform_config* cfg, const ddk_conform_case_id* id,
                                     ddk_conform_case_fn run, const void* ctx, FILE* out) {
  static char text[32768];
  static char outcome[32];
  int fds[2];
  double t0 = now_ms();
  ddk_conform_result r;
  ddk_conform_result_init(&r);
  r.is_graph = strcmp(id->kind, "graph") == 0;
  if (pipe(fds) != 0) {
    snprintf(r.detail, sizeof r.detail, "pipe: %s", strerror(errno));
    return finish(cfg, id, &r, 0.0, out);
  }
  fflush(out);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    /* whatever a backend prints goes to stderr: stdout may be the results
     * stream, which holds result lines only */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    g_notes = fdopen(fds[1], "w");
    ddk_conform_result cr;
    ddk_conform_result_init(&cr);
    cr.is_graph = r.is_graph;
    run(cfg, ctx, &cr);
    if (g_notes != NULL) {
      ddk_conform_write_result(g_notes, cfg, id, &cr, now_ms() - t0);
      fclose(g_notes);
    }
    _exit(0);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    snprintf(r.detail, sizeof r.detail, "fork: %s", strerror(errno));
    return finish(cfg, id, &r, 0.0, out);
  }
  size_t used = 0;
  bool timed_out = false;
  for (;;) {
    long left = cfg->timeout_ms - (long)(now_ms() - t0);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    int n = poll(&p, 1, (int)left);
    if (n <= 0) continue; /* EINTR or the time is up: the loop decides */
    ssize_t k = read(fds[0], text + used, sizeof text - 1 - used);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break; /* EOF: the child is done (or died) */
    used += (size_t)k;
    if (used >= sizeof text - 1) break;
  }
  close(fds[0]);
  text[used] = '\0';
  int status = 0;
  if (timed_out) kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  /* the child's result: the last line, complete, starting with '{' */
  char* last = NULL;
  if (!timed_out && used > 0 && text[used - 1] == '\n' && WIFEXITED(status) &&
      WEXITSTATUS(status) == 0) {
    text[used - 1] = '\0';
    last = strrchr(text, '\n');
    last = last != NULL ? last + 1 : text;
    if (last[0] != '{') last = NULL;
  }
  if (last != NULL) {
    fputs(last, out);
    fputc('\n', out);
    const char* o = strstr(last, "\"outcome\": \"");
    outcome[0] = '\0';
    if (o != NULL) sscanf(o + 12, "%31[^\"]", outcome);
    return outcome;
  }
  apply_notes(text, &r);
  if (timed_out) {
    r.outcome = "hang";
    if (r.stage[0] == '\0') snprintf(r.stage, sizeof r.stage, "execute");
    snprintf(r.detail, sizeof r.detail, "no result within %ld ms (killed)", cfg->timeout_ms);
  } else {
    r.outcome = "crash";
    if (WIFSIGNALED(status))
      snprintf(r.detail, sizeof r.detail, "the case process died of signal %d (%s)",
               WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
      snprintf(r.detail, sizeof r.detail, "the case process exited with status %d, no result",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return finish(cfg, id, &r, now_ms() - t0, out);
}

/* ---- the session ----------------------------------------------------------- */

static void* count_alloc(void* self, size_t size, size_t align) {
  ddk_conform_session* s = self;
  void* p = NULL;
  if (posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, size ? size : 1) != 0)
    return NULL;
  s->live_blocks++;
  s->live_bytes += size;
  return p;
}

static void count_free(void* self, void* ptr, size_t size) {
  ddk_conform_session* s = self;
  if (ptr == NULL) return;
  s->live_blocks--;
  s->live_bytes -= size;
  free(ptr);
}

bool ddk_conform_session_open(ddk_conform_session* s, const ddk_conform_config* cfg,
                              const char* const* more_backends, uint32_t num_more_backends,
                              const ddk_option* more_options, uint32_t num_more_options,
                              ddk_conform_result* r) {
  memset(s, 0, sizeof *s);
  s->allocator = (ddk_allocator){s, count_alloc, count_free};
  for (uint32_t i = 0; i < num_more_options && i < DDK_CONFORM_MAX_OPTIONS; ++i)
    s->options[s->num_options++] = more_options[i];
  for (uint32_t i = 0; i < cfg->num_options; ++i) s->options[s->num_options++] = cfg->options[i];
  char err[512] = "";
  ddk_conform_note_stage("load");
  ddk_status st = ddk_runtime_create(&s->allocator, &s->runtime, err, sizeof err);
  const uint32_t total = cfg->num_backends + num_more_backends;
  for (uint32_t i = 0; st == DDK_OK && i < total && i < 2 * DDK_CONFORM_MAX_BACKENDS; ++i) {
    const ddk_backend* be = NULL;
    const char* which =
        i < cfg->num_backends ? cfg->backends[i] : more_backends[i - cfg->num_backends];
    st = ddk_runtime_add_backend(s->runtime, which, &be, err, sizeof err);
    if (st == DDK_OK) s->names[s->num_names++] = be->name;
  }
  if (st != DDK_OK) {
    ddk_conform_result_fail(r, "error", "load", st, err);
    return false;
  }
  s->num_primary = cfg->num_backends;
  return true;
}

bool ddk_conform_session_lower(ddk_conform_session* s, const ddk_conform_config* cfg,
                               const ddk_program* program, ddk_program** out_lowered,
                               ddk_conform_result* r) {
  (void)cfg;
  char err[512] = "";
  ddk_options opts = {DDK_STRUCT_HEADER_INIT(ddk_options), s->num_options, s->options};
  ddk_conform_note_stage("lower");
  ddk_status st = ddk_runtime_lower(s->runtime, program, s->names, s->num_names, &opts, out_lowered,
                                    err, sizeof err);
  if (st != DDK_OK) {
    ddk_conform_result_fail(r, "claimed-but-broken",
                            strstr(err, "preprocess") ? "preprocess" : "partition", st, err);
    return false;
  }
  const ddk_program* low = *out_lowered;
  r->nodes = program->num_nodes;
  r->partitions = low->num_delegates;
  r->delegated = 0;
  s->primary_partitions = 0;
  for (uint32_t d = 0; d < low->num_delegates; ++d) {
    r->delegated += low->delegates[d].num_nodes;
    for (uint32_t b = 0; b < s->num_primary; ++b)
      if (strcmp(low->delegates[d].backend_id, s->names[b]) == 0) ++s->primary_partitions;
  }
  size_t used = 0;
  r->backend[0] = '\0';
  for (uint32_t b = 0; b < s->num_names; ++b) {
    bool took = false;
    for (uint32_t d = 0; d < low->num_delegates && !took; ++d)
      took = strcmp(low->delegates[d].backend_id, s->names[b]) == 0;
    if (took && used < sizeof r->backend)
      used += (size_t)snprintf(r->backend + used, sizeof r->backend - used, "%s%s", used ? "," : "",
                               s->names[b]);
  }
  if (r->backend[0] == '\0' && s->num_names > 0)
    snprintf(r->backend, sizeof r->backend, "%s", s->names[0]);
  ddk_conform_note_lowered(r);
  return true;
}

static ddk_status set_inputs(ddk_method* m, const ddk_conform_input* in, uint32_t n, char* err,
                             size_t cap) {
  if (n != ddk_method_num_inputs(m)) {
    snprintf(err, cap, "%u input(s) given, the program has %u", n, ddk_method_num_inputs(m));
    return DDK_INVALID_ARGUMENT;
  }
  for (uint32_t i = 0; i < n; ++i) {
    ddk_status st = ddk_method_set_input(m, i, in[i].dtype, in[i].rank, in[i].sizes, in[i].data,
                                         in[i].nbytes, err, cap);
    if (st != DDK_OK) return st;
  }
  return DDK_OK;
}

bool ddk_conform_session_run_backend(ddk_conform_session* s, const ddk_conform_config* cfg,
                                     const ddk_program* lowered, const ddk_conform_input* inputs,
                                     uint32_t num_inputs, ddk_method** out_method,
                                     ddk_conform_result* r) {
  char err[512] = "";
  *out_method = NULL;
  /* the runner's debug checks first: they win over any same-named key */
  ddk_option opt[2 * DDK_CONFORM_MAX_OPTIONS + 2];
  opt[0] = (ddk_option){.key = "guard_bytes", .type = DDK_OPTION_INT, .value.i = cfg->guard_bytes};
  opt[1] = (ddk_option){.key = "check_inputs", .type = DDK_OPTION_BOOL, .value.b = true};
  memcpy(opt + 2, s->options, s->num_options * sizeof opt[0]);
  ddk_options opts = {DDK_STRUCT_HEADER_INIT(ddk_options), s->num_options + 2, opt};
  ddk_conform_note_stage("init");
  ddk_status st = ddk_method_create(s->runtime, lowered, &opts, out_method, err, sizeof err);
  if (st != DDK_OK) {
    ddk_conform_result_fail(r, "claimed-but-broken", "init", st, err);
    return false;
  }
  st = set_inputs(*out_method, inputs, num_inputs, err, sizeof err);
  if (st != DDK_OK) {
    ddk_conform_result_fail(r, "error", "inputs", st, err);
    return false;
  }
  ddk_conform_note_stage("execute");
  st = ddk_method_execute(*out_method, err, sizeof err);
  if (st == DDK_OUT_OF_BOUNDS_WRITE)
    ddk_conform_result_fail(r, "out-of-bounds-write", "execute", st, err);
  else if (st == DDK_INPUT_MODIFIED)
    ddk_conform_result_fail(r, "input-modified", "execute", st, err);
  else if (st != DDK_OK)
    ddk_conform_result_fail(r, "claimed-but-broken", "execute", st, err);
  return st == DDK_OK;
}

bool ddk_conform_session_run_reference(ddk_conform_session* s, const ddk_program* program,
                                       const ddk_conform_input* inputs, uint32_t num_inputs,
                                       ddk_method** out_method, ddk_conform_result* r) {
  char err[512] = "";
  ddk_conform_note_stage("reference");
  ddk_status st = ddk_method_create(s->runtime, program, NULL, out_method, err, sizeof err);
  if (st == DDK_OK) st = set_inputs(*out_method, inputs, num_inputs, err, sizeof err);
  if (st == DDK_OK) st = ddk_method_execute(*out_method, err, sizeof err);
  if (st != DDK_OK) ddk_conform_result_fail(r, "error", "reference", st, err);
  return st == DDK_OK;
}

void ddk_conform_session_close(ddk_conform_session* s, ddk_conform_result* r) {
  ddk_conform_note_stage("destroy");
  ddk_runtime_destroy(s->runtime);
  s->runtime = NULL;
  if (s->live_blocks != 0 && strcmp(r->outcome, "pass") == 0) {
    r->outcome = "leak";
    snprintf(r->stage, sizeof r->stage, "destroy");
    snprintf(r->detail, sizeof r->detail,
             "%ld allocation(s), %zu bytes, not freed after the delegate and runtime were "
             "destroyed",
             s->live_blocks, s->live_bytes);
  }
}
