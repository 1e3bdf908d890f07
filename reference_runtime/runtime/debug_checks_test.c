/*
 * debug_checks_test.c — the method's debug checks catch a misbehaving
 * backend: "guard_bytes" (guard bytes around every planned value, checked
 * after each instruction) reports a write past or before an output as
 * DDK_OUT_OF_BOUNDS_WRITE, and "check_inputs" reports a changed input as
 * DDK_INPUT_MODIFIED. A correct backend passes with both checks on.
 *
 * The backend under test ("rogue") is a static vtable in this file: it
 * claims every aten::relu node, and its execute computes relu and then
 * misbehaves as its "rogue.mode" option says (set at init).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddk/ops.h"
#include "ddk/program.h"
#include "ddk/runtime.h"
#include "ddk_test.h"

typedef enum { ROGUE_OK, ROGUE_OVERRUN, ROGUE_UNDERRUN, ROGUE_MODIFY } rogue_mode;

struct ddk_delegate_handle {
  rogue_mode mode;
  const ddk_services* services;
};

static ddk_status r_partition(const ddk_backend* self, const ddk_graph_view* g,
                              const ddk_options* o, const ddk_services* s, bool* claimed, char* err,
                              size_t cap) {
  for (uint32_t i = 0; i < g->num_nodes; ++i) claimed[i] = g->nodes[i].op_id == DDK_OP_ATEN_RELU;
  return DDK_OK;
}

static ddk_status r_preprocess(const ddk_backend* self, const ddk_graph_view* g,
                               const ddk_options* o, const ddk_services* s, ddk_blob* blob,
                               char* err, size_t cap) {
  blob->data = s->allocator.alloc(s->allocator.self, 1, 64);
  if (blob->data == NULL) return DDK_OUT_OF_MEMORY;
  blob->size = 1;
  snprintf(blob->compat, sizeof blob->compat, "rogue");
  return DDK_OK;
}

static ddk_status r_init(const ddk_backend* self, const void* blob, size_t n, const char* compat,
                         const ddk_options* o, const ddk_services* s, ddk_delegate_handle** out,
                         char* err, size_t cap) {
  ddk_delegate_handle* h = s->allocator.alloc(s->allocator.self, sizeof *h, 64);
  if (h == NULL) return DDK_OUT_OF_MEMORY;
  const char* mode = ddk_options_get_string(o, "rogue.mode", "ok");
  h->mode = strcmp(mode, "overrun") == 0    ? ROGUE_OVERRUN
            : strcmp(mode, "underrun") == 0 ? ROGUE_UNDERRUN
            : strcmp(mode, "modify") == 0   ? ROGUE_MODIFY
                                            : ROGUE_OK;
  h->services = s;
  *out = h;
  return DDK_OK;
}

static ddk_status r_execute(ddk_delegate_handle* h, const ddk_tensor* const* in, uint32_t ni,
                            ddk_tensor* const* out, uint32_t no, char* err, size_t cap) {
  const float* x = (const float*)in[0]->data;
  float* y = (float*)out[0]->data;
  int64_t n = ddk_tensor_numel(out[0]);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : 0;
  if (h->mode == ROGUE_OVERRUN) y[n] = 1.0f;   /* one element past the end */
  if (h->mode == ROGUE_UNDERRUN) y[-1] = 1.0f; /* one element before */
  if (h->mode == ROGUE_MODIFY) ((float*)in[0]->data)[0] = 42.0f;
  return DDK_OK;
}

static void r_destroy(ddk_delegate_handle* h) {
  h->services->allocator.free(h->services->allocator.self, h, sizeof *h);
}

static const ddk_backend kRogue = {
    .header = DDK_STRUCT_HEADER_INIT(ddk_backend),
    .name = "rogue",
    .version = "0",
    .partition = r_partition,
    .preprocess = r_preprocess,
    .init = r_init,
    .execute = r_execute,
    .destroy = r_destroy,
};

/* x[4, 8] -> relu -> y (a program output). */
static ddk_program* relu_program(void) {
  static ddk_value_desc v[2];
  memset(v, 0, sizeof v);
  for (int i = 0; i < 2; ++i) {
    v[i].header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_value_desc);
    v[i].tensor.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_tensor);
    v[i].tensor.dtype = DDK_DTYPE_FLOAT32;
    v[i].tensor.rank = 2;
    v[i].tensor.sizes[0] = 4;
    v[i].tensor.sizes[1] = 8;
    ddk_tensor_set_contiguous(&v[i].tensor);
    v[i].name = i ? "y" : "x";
  }
  v[0].flags = DDK_VALUE_INPUT;
  v[1].flags = DDK_VALUE_OUTPUT;
  static ddk_arg arg;
  arg.kind = DDK_ARG_TENSOR;
  arg.u.tensor = 0;
  static const uint32_t outs[1] = {1}, ins[1] = {0};
  static ddk_node_view node;
  memset(&node, 0, sizeof node);
  node.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_node_view);
  node.op_id = DDK_OP_ATEN_RELU;
  node.op_name = "aten::relu";
  node.num_args = 1;
  node.args = &arg;
  node.num_outputs = 1;
  node.outputs = outs;
  node.debug_name = "relu";
  static const ddk_instruction plan[1] = {{DDK_INSTR_KERNEL, 0}};
  ddk_program p;
  memset(&p, 0, sizeof p);
  p.format_major = DDK_PROGRAM_FORMAT_MAJOR;
  p.format_minor = DDK_PROGRAM_FORMAT_MINOR;
  p.num_values = 2;
  p.values = v;
  p.num_nodes = 1;
  p.nodes = &node;
  p.num_inputs = 1;
  p.inputs = ins;
  p.num_outputs = 1;
  p.outputs = outs;
  p.num_instructions = 1;
  p.instructions = plan;
  void* bytes = NULL;
  size_t size = 0;
  char err[256];
  ddk_program* loaded = NULL;
  if (ddk_program_serialize(&p, ddk_allocator_system(), &bytes, &size, err, sizeof err) == DDK_OK)
    ddk_program_load_buffer(bytes, size, true, ddk_allocator_system(), &loaded, err, sizeof err);
  ddk_allocator_system()->free(ddk_allocator_system()->self, bytes, size);
  return loaded;
}

/* Lowers to rogue (mode), runs once with the given checks; returns the
 * status of execute (or of an earlier failure), the message in err. */
static ddk_status run(const char* mode, int64_t guard, bool check_inputs, bool lower, float* y,
                      char* err, size_t cap) {
  ddk_runtime* rt = NULL;
  ddk_program* p = relu_program();
  ddk_program* low = NULL;
  ddk_method* m = NULL;
  ddk_status st = ddk_runtime_create(NULL, &rt, err, cap);
  if (st == DDK_OK) st = ddk_runtime_register_backend(rt, &kRogue, err, cap);
  ddk_option opt[3] = {
      {.key = "rogue.mode", .type = DDK_OPTION_STRING, .value.s = mode},
      {.key = "guard_bytes", .type = DDK_OPTION_INT, .value.i = guard},
      {.key = "check_inputs", .type = DDK_OPTION_BOOL, .value.b = check_inputs},
  };
  ddk_options opts = {DDK_STRUCT_HEADER_INIT(ddk_options), 3, opt};
  const char* names[] = {"rogue"};
  if (st == DDK_OK && lower) st = ddk_runtime_lower(rt, p, names, 1, &opts, &low, err, cap);
  if (st == DDK_OK) st = ddk_method_create(rt, lower ? low : p, &opts, &m, err, cap);
  float x[32];
  for (int i = 0; i < 32; ++i) x[i] = (float)(i % 7) - 3.0f;
  const int64_t sizes[2] = {4, 8};
  if (st == DDK_OK)
    st = ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 2, sizes, x, sizeof x, err, cap);
  if (st == DDK_OK) st = ddk_method_execute(m, err, cap);
  if (st == DDK_OK && y != NULL) memcpy(y, ddk_method_output(m, 0)->data, sizeof x);
  ddk_method_destroy(m);
  ddk_program_destroy(low);
  ddk_program_destroy(p);
  ddk_runtime_destroy(rt);
  return st;
}

int main(void) {
  char err[512] = "";
  float y[32];
  /* a correct backend, and the portable kernel, pass with every check on */
  CHECK(run("ok", 64, true, true, y, err, sizeof err) == DDK_OK, "rogue ok: %s", err);
  for (int i = 0; i < 32; ++i) {
    float x = (float)(i % 7) - 3.0f;
    CHECK(y[i] == (x > 0 ? x : 0), "relu value %d", i);
  }
  CHECK(run("ok", 64, true, false, NULL, err, sizeof err) == DDK_OK, "portable: %s", err);

  /* each misbehaviour is reported with its own status and the culprit */
  ddk_status st = run("overrun", 64, true, true, NULL, err, sizeof err);
  CHECK(st == DDK_OUT_OF_BOUNDS_WRITE && strstr(err, "rogue") && strstr(err, "at byte 128"),
        "overrun: %s %s", ddk_status_name(st), err);
  st = run("underrun", 1, false, true, NULL, err, sizeof err);
  CHECK(st == DDK_OUT_OF_BOUNDS_WRITE && strstr(err, "at byte -4"), "underrun: %s %s",
        ddk_status_name(st), err);
  st = run("modify", 0, true, true, NULL, err, sizeof err);
  CHECK(st == DDK_INPUT_MODIFIED && strstr(err, "rogue") && strstr(err, "'x'"), "modify: %s %s",
        ddk_status_name(st), err);

  /* the checks are opt-in (an overrun without guards would be a real
   * memory error, which ASan reports instead) */
  CHECK(run("modify", 64, false, true, NULL, err, sizeof err) == DDK_OK, "no input check: %s", err);

  /* a bad option is refused */
  st = run("ok", -1, false, true, NULL, err, sizeof err);
  CHECK(st == DDK_INVALID_ARGUMENT && strstr(err, "guard_bytes"), "bad guard: %s", err);
  return ddk_test_finish();
}
