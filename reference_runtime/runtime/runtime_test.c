/*
 * runtime_test.c — the runtime core: ABI negotiation with plugins, lowering
 * (partition order, acyclic grouping, boundary inputs/outputs), the
 * template backend against the portable kernels, lifecycle failures,
 * allocation balance and allocation-free execute.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddk/ops.h"
#include "ddk/program.h"
#include "ddk/runtime.h"
#include "ddk_test.h"


/* ---- a counting allocator ---------------------------------------------- */

typedef struct counting {
  long live_blocks;
  long total_allocs;
  size_t live_bytes;
  long fail_at; /* fail the Nth allocation (1-based); 0 = never */
} counting;

static void* c_alloc(void* self, size_t size, size_t align) {
  counting* c = self;
  c->total_allocs++;
  if (c->fail_at > 0 && c->total_allocs == c->fail_at) return NULL;
  void* p = NULL;
  if (posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, size) != 0)
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

/* ---- building programs in C -------------------------------------------- */

typedef struct builder {
  ddk_value_desc values[32];
  ddk_node_view nodes[16];
  ddk_arg args[64];
  uint32_t idx[128];
  ddk_instruction plan[16];
  uint32_t inputs[8], outputs[8];
  float consts[8][64];
  uint32_t nv, nn, na, ni, nin, nout, nc;
} builder;

static uint32_t b_value(builder* b, uint32_t flags, int64_t d0, int64_t d1) {
  ddk_value_desc* v = &b->values[b->nv];
  memset(v, 0, sizeof *v);
  v->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_value_desc);
  v->tensor.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_tensor);
  v->tensor.dtype = DDK_DTYPE_FLOAT32;
  v->tensor.rank = 2;
  v->tensor.sizes[0] = d0;
  v->tensor.sizes[1] = d1;
  v->tensor.dim_order[0] = 0;
  v->tensor.dim_order[1] = 1;
  v->flags = flags;
  v->name = "";
  if (flags & DDK_VALUE_INPUT) b->inputs[b->nin++] = b->nv;
  if (flags & DDK_VALUE_OUTPUT) b->outputs[b->nout++] = b->nv;
  if (flags & DDK_VALUE_CONSTANT) {
    float* data = b->consts[b->nc++];
    for (int64_t i = 0; i < d0 * d1; ++i) data[i] = 0.25f * (float)(i % 7) - 0.5f;
    v->tensor.data = data;
  }
  return b->nv++;
}

/* A node of op `op` reading tensors a (and b unless NO_VALUE), writing out.
 * add/sub get alpha=1. */
static void b_node(builder* b, uint32_t op, uint32_t a, uint32_t x,
                   uint32_t out) {
  ddk_node_view* n = &b->nodes[b->nn];
  memset(n, 0, sizeof *n);
  n->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_node_view);
  n->op_id = op;
  n->op_name = ddk_op_get(op)->name;
  n->node_index = b->nn;
  n->debug_name = "";
  n->args = &b->args[b->na];
  b->args[b->na++] = (ddk_arg){.kind = DDK_ARG_TENSOR, .u.tensor = a};
  n->num_args = 1;
  if (x != DDK_NO_VALUE) {
    b->args[b->na++] = (ddk_arg){.kind = DDK_ARG_TENSOR, .u.tensor = x};
    n->num_args++;
  }
  if (op == DDK_OP_ATEN_ADD_TENSOR || op == DDK_OP_ATEN_SUB_TENSOR) {
    b->args[b->na++] = (ddk_arg){.kind = DDK_ARG_INT, .u.i = 1};
    n->num_args++;
  }
  b->idx[b->ni] = out;
  n->outputs = &b->idx[b->ni++];
  n->num_outputs = 1;
  b->plan[b->nn] = (ddk_instruction){DDK_INSTR_KERNEL, b->nn};
  b->nn++;
}

static ddk_program b_program(builder* b) {
  ddk_program p;
  memset(&p, 0, sizeof p);
  p.format_major = DDK_PROGRAM_FORMAT_MAJOR;
  p.num_values = b->nv;
  p.values = b->values;
  p.num_nodes = b->nn;
  p.nodes = b->nodes;
  p.num_inputs = b->nin;
  p.inputs = b->inputs;
  p.num_outputs = b->nout;
  p.outputs = b->outputs;
  p.num_instructions = b->nn;
  p.instructions = b->plan;
  return p;
}

/* Serialises + loads: the program as a reader sees it. */
static ddk_program* b_load(builder* b, const ddk_allocator* a) {
  ddk_program p = b_program(b);
  void* bytes = NULL;
  size_t n = 0;
  char err[512] = "";
  ddk_status st = ddk_program_serialize(&p, a, &bytes, &n, err, sizeof err);
  CHECK(st == DDK_OK, "serialize: %s", err);
  if (st != DDK_OK) return NULL;
  ddk_program* out = NULL;
  st = ddk_program_load_buffer(bytes, n, true, a, &out, err, sizeof err);
  CHECK(st == DDK_OK, "load: %s", err);
  a->free(a->self, bytes, n);
  return out;
}

/* add -> mul(constant) -> hardtanh -> sigmoid -> sub(.., t0): the template
 * claims all but hardtanh, so the chain crosses delegate -> portable ->
 * delegate, and the second delegate also reads a value of the first. */
static ddk_program* chain_program(const ddk_allocator* a) {
  builder b;
  memset(&b, 0, sizeof b);
  uint32_t x = b_value(&b, DDK_VALUE_INPUT, 4, 8);
  uint32_t y = b_value(&b, DDK_VALUE_INPUT, 4, 8);
  uint32_t c = b_value(&b, DDK_VALUE_CONSTANT, 4, 8);
  uint32_t t0 = b_value(&b, 0, 4, 8), t1 = b_value(&b, 0, 4, 8);
  uint32_t t2 = b_value(&b, 0, 4, 8), t3 = b_value(&b, 0, 4, 8);
  uint32_t out = b_value(&b, DDK_VALUE_OUTPUT, 4, 8);
  b_node(&b, DDK_OP_ATEN_ADD_TENSOR, x, y, t0);   /* template */
  b_node(&b, DDK_OP_ATEN_MUL_TENSOR, t0, c, t1);  /* template (constant) */
  b_node(&b, DDK_OP_ATEN_HARDTANH, t1, DDK_NO_VALUE, t2); /* portable */
  b.args[b.na++] = (ddk_arg){.kind = DDK_ARG_INT, .u.i = -1};
  b.args[b.na++] = (ddk_arg){.kind = DDK_ARG_INT, .u.i = 1};
  b.nodes[2].num_args = 3;
  b_node(&b, DDK_OP_ATEN_SIGMOID, t2, DDK_NO_VALUE, t3); /* template */
  b_node(&b, DDK_OP_ATEN_SUB_TENSOR, t3, t0, out);       /* template */
  return b_load(&b, a);
}

static ddk_status run_chain(ddk_runtime* rt, const ddk_program* p, float* out,
                            char* err, size_t cap) {
  ddk_method* m = NULL;
  ddk_status st = ddk_method_create(rt, p, NULL, &m, err, cap);
  if (st != DDK_OK) return st;
  float x[32], y[32];
  for (int i = 0; i < 32; ++i) {
    x[i] = sinf((float)i);
    y[i] = cosf((float)i * 0.7f);
  }
  int64_t sizes[2] = {4, 8};
  st = ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 2, sizes, x, sizeof x, err, cap);
  if (st == DDK_OK)
    st = ddk_method_set_input(m, 1, DDK_DTYPE_FLOAT32, 2, sizes, y, sizeof y, err, cap);
  if (st == DDK_OK) st = ddk_method_execute(m, err, cap);
  if (st == DDK_OK) memcpy(out, ddk_method_output(m, 0)->data, 32 * sizeof(float));
  /* the inputs keep their bytes: executing again gives the same result */
  if (st == DDK_OK) st = ddk_method_execute(m, err, cap);
  if (st == DDK_OK)
    CHECK(memcmp(out, ddk_method_output(m, 0)->data, 32 * sizeof(float)) == 0,
          "a second execute without set_input computes the same");
  ddk_method_destroy(m);
  return st;
}

/* ---- tests ------------------------------------------------------------- */

static void test_abi_negotiation(void) {
  ddk_runtime* rt = NULL;
  char err[1024];
  CHECK(ddk_runtime_create(NULL, &rt, err, sizeof err) == DDK_OK, "create");
  char path[1024];
  ddk_status st;

  snprintf(path, sizeof path, "%s/libddk_test_plugin_major2.so", DDK_TEST_PLUGIN_DIR);
  st = ddk_runtime_add_backend(rt, path, NULL, err, sizeof err);
  CHECK(st == DDK_ABI_MISMATCH && strstr(err, "ABI 2.0") != NULL,
        "major 2 plugin: %d %s", st, err);

  snprintf(path, sizeof path, "%s/libddk_test_plugin_refuses.so", DDK_TEST_PLUGIN_DIR);
  st = ddk_runtime_add_backend(rt, path, NULL, err, sizeof err);
  CHECK(st == DDK_ABI_MISMATCH && strstr(err, "needs host ABI 1.7") != NULL,
        "refusing plugin: %d %s", st, err);

  snprintf(path, sizeof path, "%s/libddk_test_plugin_no_execute.so", DDK_TEST_PLUGIN_DIR);
  st = ddk_runtime_add_backend(rt, path, NULL, err, sizeof err);
  CHECK(st == DDK_ABI_MISMATCH && strstr(err, "'execute'") != NULL,
        "plugin without execute: %d %s", st, err);

  snprintf(path, sizeof path, "%s/libddk_test_plugin_old_minor.so", DDK_TEST_PLUGIN_DIR);
  const ddk_backend* old = NULL;
  st = ddk_runtime_add_backend(rt, path, &old, err, sizeof err);
  CHECK(st == DDK_OK && old != NULL && old->set_profiling == NULL &&
            strcmp(old->name, "abi_old_minor") == 0,
        "older-minor plugin accepted with optional slot NULL: %d %s", st, err);

  st = ddk_runtime_add_backend(rt, "/nonexistent/libnothing.so", NULL, err, sizeof err);
  CHECK(st == DDK_NOT_FOUND && strstr(err, "cannot load") != NULL,
        "missing plugin: %d %s", st, err);

  st = ddk_runtime_add_backend(rt, "libm.so.6", NULL, err, sizeof err);
  CHECK(st == DDK_NOT_FOUND || st == DDK_ABI_MISMATCH, "libm: %d %s", st, err);
  st = ddk_runtime_add_backend(rt, "/lib/x86_64-linux-gnu/libm.so.6", NULL, err, sizeof err);
  CHECK(st == DDK_ABI_MISMATCH && strstr(err, "does not export") != NULL,
        "non-plugin library: %d %s", st, err);

  st = ddk_runtime_add_backend(rt, DDK_TEMPLATE_PLUGIN_PATH, NULL, err, sizeof err);
  CHECK(st == DDK_OK, "template: %s", err);
  st = ddk_runtime_add_backend(rt, DDK_TEMPLATE_PLUGIN_PATH, NULL, err, sizeof err);
  CHECK(st == DDK_INVALID_ARGUMENT && strstr(err, "already registered"),
        "duplicate: %d %s", st, err);
  CHECK(ddk_runtime_backend_count(rt) == 2, "two backends registered");
  ddk_runtime_destroy(rt);
}

static void test_lowering_and_equivalence(void) {
  counting c = {0};
  ddk_allocator a = {&c, c_alloc, c_free};
  char err[1024];
  ddk_runtime* rt = NULL;
  CHECK(ddk_runtime_create(&a, &rt, err, sizeof err) == DDK_OK, "create");
  CHECK(ddk_runtime_add_backend(rt, DDK_TEMPLATE_PLUGIN_PATH, NULL, err, sizeof err) == DDK_OK,
        "template: %s", err);
  ddk_program* p = chain_program(&a);
  if (p == NULL) return;
  float portable[32], delegated[32];
  ddk_status st = run_chain(rt, p, portable, err, sizeof err);
  CHECK(st == DDK_OK, "portable run: %s", err);

  const char* names[] = {"template"};
  ddk_program* low = NULL;
  st = ddk_runtime_lower(rt, p, names, 1, NULL, &low, err, sizeof err);
  CHECK(st == DDK_OK, "lower: %s", err);
  if (low != NULL) {
    /* add+mul form one delegate; hardtanh stays portable; sigmoid+sub a
     * second delegate (it cannot join the first: hardtanh lies between) */
    CHECK(low->num_delegates == 2, "two delegates, got %u", low->num_delegates);
    CHECK(low->num_instructions == 3, "3 instructions, got %u", low->num_instructions);
    if (low->num_delegates == 2) {
      const ddk_program_delegate* d0 = &low->delegates[0];
      const ddk_program_delegate* d1 = &low->delegates[1];
      CHECK(d0->num_nodes == 2 && d0->nodes[0] == 0 && d0->nodes[1] == 1,
            "delegate 0 = nodes 0,1");
      CHECK(d0->num_inputs == 2, "delegate 0 reads x, y (constant embedded): %u",
            d0->num_inputs);
      /* t0 is used by node 4 (in delegate 1) and t1 by hardtanh */
      CHECK(d0->num_outputs == 2, "delegate 0 exports t0 and t1: %u", d0->num_outputs);
      CHECK(d1->num_nodes == 2 && d1->num_inputs == 2 && d1->num_outputs == 1,
            "delegate 1 = sigmoid+sub reading t2,t0");
      CHECK(strcmp(d0->compat, "template:format=2") == 0, "compat kept");
    }
    st = run_chain(rt, low, delegated, err, sizeof err);
    CHECK(st == DDK_OK, "delegated run: %s", err);
    float worst = 0;
    for (int i = 0; i < 32; ++i) worst = fmaxf(worst, fabsf(portable[i] - delegated[i]));
    CHECK(worst <= 1e-6f, "template == portable (max diff %g)", (double)worst);

    /* memory planning reuses bytes and execute allocates nothing */
    ddk_method* m = NULL;
    st = ddk_method_create(rt, low, NULL, &m, err, sizeof err);
    CHECK(st == DDK_OK, "method: %s", err);
    if (m != NULL) {
      CHECK(ddk_method_arena_size(m) < ddk_method_unplanned_size(m),
            "arena %zu < unplanned %zu", ddk_method_arena_size(m),
            ddk_method_unplanned_size(m));
      float x[32] = {0};
      int64_t sizes[2] = {4, 8};
      ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 2, sizes, x, sizeof x, err, sizeof err);
      ddk_method_set_input(m, 1, DDK_DTYPE_FLOAT32, 2, sizes, x, sizeof x, err, sizeof err);
      long before = c.total_allocs;
      for (int i = 0; i < 5; ++i)
        CHECK(ddk_method_execute(m, err, sizeof err) == DDK_OK, "execute: %s", err);
      CHECK(c.total_allocs == before, "execute allocated %ld times",
            c.total_allocs - before);
      ddk_method_destroy(m);
    }
    ddk_program_destroy(low);
  }
  ddk_program_destroy(p);
  ddk_runtime_destroy(rt);
  CHECK(c.live_blocks == 0 && c.live_bytes == 0,
        "allocations balance: %ld blocks, %zu bytes live", c.live_blocks,
        c.live_bytes);
}

/* Every lifecycle function failing gives a clear error and leaks nothing. */
static void test_lifecycle_failures(void) {
  static const char* const stages[] = {"partition", "preprocess", "init", "execute"};
  for (int s = 0; s < 4; ++s) {
    counting c = {0};
    ddk_allocator a = {&c, c_alloc, c_free};
    char err[1024] = "";
    ddk_runtime* rt = NULL;
    ddk_runtime_create(&a, &rt, err, sizeof err);
    ddk_runtime_add_backend(rt, DDK_TEMPLATE_PLUGIN_PATH, NULL, err, sizeof err);
    ddk_program* p = chain_program(&a);
    ddk_option opt = {.key = "template.fail_at", .type = DDK_OPTION_STRING,
                      .value.s = stages[s]};
    ddk_options opts = {DDK_STRUCT_HEADER_INIT(ddk_options), 1, &opt};
    const char* names[] = {"template"};
    ddk_program* low = NULL;
    ddk_status st = ddk_runtime_lower(rt, p, names, 1, &opts, &low, err, sizeof err);
    if (s < 2) {
      CHECK(st == DDK_BACKEND_FAILURE && strstr(err, stages[s]) &&
                strstr(err, "template"),
            "%s failure reported: %d %s", stages[s], st, err);
    } else {
      CHECK(st == DDK_OK, "lower: %s", err);
      ddk_method* m = NULL;
      st = ddk_method_create(rt, low, &opts, &m, err, sizeof err);
      if (s == 2) {
        CHECK(st == DDK_BACKEND_FAILURE && strstr(err, "init failed") &&
                  m == NULL,
              "init failure reported: %d %s", st, err);
      } else {
        CHECK(st == DDK_OK, "method: %s", err);
        float x[32] = {0};
        int64_t sizes[2] = {4, 8};
        ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 2, sizes, x, sizeof x, err, sizeof err);
        ddk_method_set_input(m, 1, DDK_DTYPE_FLOAT32, 2, sizes, x, sizeof x, err, sizeof err);
        st = ddk_method_execute(m, err, sizeof err);
        CHECK(st == DDK_BACKEND_FAILURE && strstr(err, "execute failed"),
              "execute failure reported: %d %s", st, err);
      }
      ddk_method_destroy(m);
    }
    ddk_program_destroy(low);
    ddk_program_destroy(p);
    ddk_runtime_destroy(rt);
    CHECK(c.live_blocks == 0, "%s: %ld blocks leaked", stages[s], c.live_blocks);
  }
}

/* Out-of-memory at every allocation of create+lower+method: never a crash,
 * always a status, nothing leaked. */
static void test_out_of_memory(void) {
  for (long n = 1; n < 200; ++n) {
    counting c = {0};
    c.fail_at = n;
    ddk_allocator a = {&c, c_alloc, c_free};
    char err[512];
    ddk_runtime* rt = NULL;
    ddk_program* p = NULL;
    ddk_program* low = NULL;
    ddk_method* m = NULL;
    bool done = false;
    if (ddk_runtime_create(&a, &rt, err, sizeof err) == DDK_OK &&
        ddk_runtime_add_backend(rt, DDK_TEMPLATE_PLUGIN_PATH, NULL, err, sizeof err) == DDK_OK) {
      /* loading itself may fail under OOM: that is fine */
      {
        builder bb;
        memset(&bb, 0, sizeof bb);
        uint32_t x = b_value(&bb, DDK_VALUE_INPUT, 2, 2);
        uint32_t t = b_value(&bb, 0, 2, 2);
        uint32_t o = b_value(&bb, DDK_VALUE_OUTPUT, 2, 2);
        b_node(&bb, DDK_OP_ATEN_RELU, x, DDK_NO_VALUE, t);
        b_node(&bb, DDK_OP_ATEN_SIGMOID, t, DDK_NO_VALUE, o);
        ddk_program pp = b_program(&bb);
        void* bytes = NULL;
        size_t nb = 0;
        if (ddk_program_serialize(&pp, &a, &bytes, &nb, err, sizeof err) == DDK_OK) {
          ddk_program_load_buffer(bytes, nb, true, &a, &p, err, sizeof err);
          a.free(a.self, bytes, nb);
        }
      }
      const char* names[] = {"template"};
      if (p != NULL &&
          ddk_runtime_lower(rt, p, names, 1, NULL, &low, err, sizeof err) == DDK_OK &&
          ddk_method_create(rt, low, NULL, &m, err, sizeof err) == DDK_OK)
        done = true;
    }
    ddk_method_destroy(m);
    ddk_program_destroy(low);
    ddk_program_destroy(p);
    ddk_runtime_destroy(rt);
    CHECK(c.live_blocks == 0, "OOM at allocation %ld leaked %ld blocks", n,
          c.live_blocks);
    if (done) break; /* n exceeds the number of allocations made */
  }
}

static void test_set_input_errors(void) {
  char err[512];
  ddk_runtime* rt = NULL;
  ddk_runtime_create(NULL, &rt, err, sizeof err);
  ddk_program* p = chain_program(ddk_allocator_system());
  ddk_method* m = NULL;
  CHECK(ddk_method_create(rt, p, NULL, &m, err, sizeof err) == DDK_OK, "%s", err);
  float x[32] = {0};
  int64_t good[2] = {4, 8}, bad[2] = {4, 9};
  CHECK(ddk_method_execute(m, err, sizeof err) == DDK_INVALID_ARGUMENT &&
            strstr(err, "never set"),
        "execute before inputs are set: %s", err);
  CHECK(ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 2, good, NULL, sizeof x, err, sizeof err) ==
            DDK_INVALID_ARGUMENT && strstr(err, "data is NULL"),
        "NULL data: %s", err);
  CHECK(ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 2, NULL, x, sizeof x, err, sizeof err) ==
            DDK_INVALID_ARGUMENT && strstr(err, "sizes is NULL"),
        "NULL sizes: %s", err);
  CHECK(ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT64, 2, good, x, sizeof x, err, sizeof err) ==
            DDK_DTYPE_MISMATCH && strstr(err, "float32"),
        "dtype mismatch: %s", err);
  CHECK(ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 2, bad, x, sizeof x, err, sizeof err) ==
            DDK_SHAPE_MISMATCH && strstr(err, "dim 1"),
        "shape mismatch: %s", err);
  CHECK(ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 1, good, x, sizeof x, err, sizeof err) ==
            DDK_SHAPE_MISMATCH,
        "rank mismatch: %s", err);
  CHECK(ddk_method_set_input(m, 7, DDK_DTYPE_FLOAT32, 2, good, x, sizeof x, err, sizeof err) ==
            DDK_OUT_OF_RANGE,
        "input index: %s", err);
  CHECK(ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 2, good, x, 12, err, sizeof err) ==
            DDK_INVALID_ARGUMENT,
        "byte count: %s", err);
  ddk_method_destroy(m);
  ddk_program_destroy(p);
  ddk_runtime_destroy(rt);
}

/* ---- partition labels (ABI 1.1 partition_grouped) ----------------------- */

/* A lowering-only backend: claims every node but hardtanh and labels node
 * i with labels[i] (partition_grouped), or claims without labels. */
static const uint32_t k_labels[] = {1, 2, 0, 3, 3};

static ddk_status lab_claim(const ddk_graph_view* g, bool* claimed, uint32_t* group) {
  for (uint32_t i = 0; i < g->num_nodes; ++i) {
    claimed[i] = g->nodes[i].op_id != DDK_OP_ATEN_HARDTANH;
    if (group != NULL) group[i] = k_labels[g->nodes[i].node_index % 5];
  }
  return DDK_OK;
}
static ddk_status lab_partition(const ddk_backend* self, const ddk_graph_view* g,
                                const ddk_options* o, const ddk_services* s, bool* claimed,
                                char* err, size_t cap) {
  (void)self, (void)o, (void)s, (void)err, (void)cap;
  return lab_claim(g, claimed, NULL);
}
static ddk_status lab_partition_grouped(const ddk_backend* self, const ddk_graph_view* g,
                                        const ddk_options* o, const ddk_services* s,
                                        bool* claimed, uint32_t* group, char* err, size_t cap) {
  (void)self, (void)o, (void)s, (void)err, (void)cap;
  return lab_claim(g, claimed, group);
}
static ddk_status lab_preprocess(const ddk_backend* self, const ddk_graph_view* g,
                                 const ddk_options* o, const ddk_services* s, ddk_blob* b,
                                 char* err, size_t cap) {
  (void)self, (void)g, (void)o, (void)err, (void)cap;
  b->data = s->allocator.alloc(s->allocator.self, 1, 64);
  if (b->data == NULL) return DDK_OUT_OF_MEMORY;
  b->size = 1;
  ((uint8_t*)b->data)[0] = 0;
  snprintf(b->compat, sizeof b->compat, "labeller");
  return DDK_OK;
}
static ddk_status lab_init(const ddk_backend* self, const void* blob, size_t n, const char* compat,
                           const ddk_options* o, const ddk_services* s, ddk_delegate_handle** h,
                           char* err, size_t cap) {
  (void)self, (void)blob, (void)n, (void)compat, (void)o, (void)s, (void)h;
  snprintf(err, cap, "the labeller only lowers");
  return DDK_NOT_IMPLEMENTED;
}
static ddk_status lab_execute(ddk_delegate_handle* h, const ddk_tensor* const* in, uint32_t nin,
                              ddk_tensor* const* out, uint32_t nout, char* err, size_t cap) {
  (void)h, (void)in, (void)nin, (void)out, (void)nout, (void)err, (void)cap;
  return DDK_NOT_IMPLEMENTED;
}
static void lab_destroy(ddk_delegate_handle* h) { (void)h; }

/* Labels keep nodes apart that grouping would otherwise merge; without
 * partition_grouped the same claims merge as before. */
static void test_partition_labels(void) {
  for (int grouped = 0; grouped < 2; ++grouped) {
    counting c = {0};
    ddk_allocator a = {&c, c_alloc, c_free};
    char err[1024] = "";
    ddk_runtime* rt = NULL;
    CHECK(ddk_runtime_create(&a, &rt, err, sizeof err) == DDK_OK, "create");
    ddk_backend vt = {.header = DDK_STRUCT_HEADER_INIT(ddk_backend),
                      .name = "labeller",
                      .version = "1",
                      .partition = lab_partition,
                      .preprocess = lab_preprocess,
                      .init = lab_init,
                      .execute = lab_execute,
                      .destroy = lab_destroy,
                      .partition_grouped = grouped ? lab_partition_grouped : NULL};
    CHECK(ddk_runtime_register_backend(rt, &vt, err, sizeof err) == DDK_OK, "register: %s", err);
    ddk_program* p = chain_program(&a);
    const char* names[] = {"labeller"};
    ddk_program* low = NULL;
    ddk_status st = ddk_runtime_lower(rt, p, names, 1, NULL, &low, err, sizeof err);
    CHECK(st == DDK_OK, "lower: %s", err);
    if (low != NULL) {
      /* add(1) mul(2) | hardtanh | sigmoid(3) sub(3) */
      uint32_t want = grouped ? 3u : 2u;
      CHECK(low->num_delegates == want, "grouped=%d: %u delegates, want %u", grouped,
            low->num_delegates, want);
      if (grouped && low->num_delegates == 3)
        CHECK(low->delegates[0].num_nodes == 1 && low->delegates[1].num_nodes == 1 &&
                  low->delegates[2].num_nodes == 2,
              "labels 1 | 2 | 3,3");
      /* a failing init is reported with the way out */
      ddk_method* m = NULL;
      st = ddk_method_create(rt, low, NULL, &m, err, sizeof err);
      CHECK(st == DDK_NOT_IMPLEMENTED && strstr(err, "delegate_fallback") && m == NULL,
            "init failure names the fallback option: %s", err);
      ddk_program_destroy(low);
    }
    ddk_program_destroy(p);
    ddk_runtime_destroy(rt);
    CHECK(c.live_blocks == 0, "labels: %ld blocks leaked", c.live_blocks);
  }
}

/* ---- fallback, withdrawn outputs ---------------------------------------- */

static void capture_log(void* self, int32_t level, const char* source, const char* message) {
  (void)source;
  if (level == DDK_LOG_WARNING) snprintf((char*)self, 512, "%s", message);
}

/* delegate_fallback: the template failing at init runs portable, with a
 * warning, and computes what the portable program computes; a failed
 * execute withdraws the outputs. */
static void test_fallback_and_failed_execute(void) {
  counting c = {0};
  ddk_allocator a = {&c, c_alloc, c_free};
  char err[1024] = "", warning[512] = "";
  ddk_runtime* rt = NULL;
  CHECK(ddk_runtime_create(&a, &rt, err, sizeof err) == DDK_OK, "create");
  ddk_logger lg = {warning, capture_log};
  ddk_runtime_set_logger(rt, &lg);
  CHECK(ddk_runtime_add_backend(rt, DDK_TEMPLATE_PLUGIN_PATH, NULL, err, sizeof err) == DDK_OK,
        "template: %s", err);
  ddk_program* p = chain_program(&a);
  float portable[32], fallback[32];
  CHECK(run_chain(rt, p, portable, err, sizeof err) == DDK_OK, "portable: %s", err);
  const char* names[] = {"template"};
  ddk_program* low = NULL;
  CHECK(ddk_runtime_lower(rt, p, names, 1, NULL, &low, err, sizeof err) == DDK_OK, "lower: %s",
        err);
  if (low != NULL) {
    ddk_option opt[2] = {
        {.key = "template.fail_at", .type = DDK_OPTION_STRING, .value.s = "init"},
        {.key = "delegate_fallback", .type = DDK_OPTION_BOOL, .value.b = true}};
    ddk_options opts = {DDK_STRUCT_HEADER_INIT(ddk_options), 2, opt};
    ddk_method* m = NULL;
    ddk_status st = ddk_method_create(rt, low, &opts, &m, err, sizeof err);
    CHECK(st == DDK_OK && m != NULL, "fallback method: %s", err);
    CHECK(strstr(warning, "init failed") && strstr(warning, "falling back"), "warning: '%s'",
          warning);
    if (m != NULL) {
      CHECK(ddk_method_num_fallbacks(m) == low->num_delegates, "every delegate fell back: %u",
            ddk_method_num_fallbacks(m));
      CHECK(ddk_method_output(m, 0) == NULL, "no output before execute");
      float x[32], y[32];
      for (int i = 0; i < 32; ++i) {
        x[i] = sinf((float)i);
        y[i] = cosf((float)i * 0.7f);
      }
      int64_t sizes[2] = {4, 8};
      ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 2, sizes, x, sizeof x, err, sizeof err);
      ddk_method_set_input(m, 1, DDK_DTYPE_FLOAT32, 2, sizes, y, sizeof y, err, sizeof err);
      CHECK(ddk_method_execute(m, err, sizeof err) == DDK_OK, "fallback execute: %s", err);
      const ddk_tensor* o = ddk_method_output(m, 0);
      CHECK(o != NULL, "output after execute");
      if (o != NULL) {
        memcpy(fallback, o->data, sizeof fallback);
        CHECK(memcmp(fallback, portable, sizeof fallback) == 0, "fallback == portable, bitwise");
      }
      ddk_method_destroy(m);
    }
    /* a failing execute withdraws the outputs */
    opt[0].value.s = "execute";
    opts.count = 1;
    CHECK(ddk_method_create(rt, low, &opts, &m, err, sizeof err) == DDK_OK, "method: %s", err);
    if (m != NULL) {
      float x[32] = {0};
      int64_t sizes[2] = {4, 8};
      ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 2, sizes, x, sizeof x, err, sizeof err);
      ddk_method_set_input(m, 1, DDK_DTYPE_FLOAT32, 2, sizes, x, sizeof x, err, sizeof err);
      CHECK(ddk_method_execute(m, err, sizeof err) == DDK_BACKEND_FAILURE, "execute fails");
      CHECK(ddk_method_output(m, 0) == NULL, "no output after a failed execute");
      ddk_method_destroy(m);
    }
    ddk_program_destroy(low);
  }
  ddk_program_destroy(p);
  ddk_runtime_destroy(rt);
  CHECK(c.live_blocks == 0, "fallback: %ld blocks leaked", c.live_blocks);
}

static void test_status_table(void) {
  CHECK(strcmp(ddk_status_name(DDK_INCOMPATIBLE_BLOB), "INCOMPATIBLE_BLOB") == 0, "name");
  CHECK(strcmp(ddk_status_string(DDK_OK), "ok") == 0, "ok string");
  CHECK(strcmp(ddk_status_name(12345), "UNKNOWN_STATUS") == 0, "unknown");
}

int main(void) {
  test_status_table();
  test_abi_negotiation();
  test_lowering_and_equivalence();
  test_lifecycle_failures();
  test_out_of_memory();
  test_set_input_errors();
  test_partition_labels();
  test_fallback_and_failed_execute();
  return ddk_test_finish();
}
