/*
 * op_case.c — one op case (a case of a case file) in the child process:
 * the case becomes a one-op program whose inputs are program inputs; the
 * portable kernels run it first and must agree with the case's expected
 * (PyTorch) outputs; then it is lowered for the backends, run with the
 * debug checks, and compared with the reference under the op's tolerance
 * and the run's accuracy profile.
 */
#include <stdio.h>
#include <string.h>

#include "conform.h"

void ddk_conform_run_op_case(const ddk_conform_config* cfg, const void* ctx,
                             ddk_conform_result* r) {
  const ddk_case* c = ctx;
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
    ddk_conform_result_fail(r, "error", "reference", st, err);
    return;
  }
  ddk_conform_input inputs[DDK_CASE_MAX_VALUES];
  uint32_t num_inputs = 0;
  for (uint32_t i = 0; i < c->num_values; ++i) {
    if (c->role[i] != 0) continue;
    const ddk_tensor* t = &c->values[i];
    inputs[num_inputs++] = (ddk_conform_input){t->dtype, t->rank, t->sizes, t->data, t->capacity};
  }
  ddk_conform_session s;
  void* bytes = NULL;
  size_t size = 0;
  ddk_program *prog = NULL, *low = NULL;
  ddk_method *mb = NULL, *mr = NULL;
  if (!ddk_conform_session_open(&s, cfg, NULL, 0, NULL, 0, r)) goto cleanup;
  st = ddk_case_program(c, info, declared, true, &bytes, &size, err, sizeof err);
  if (st == DDK_OK)
    st = ddk_program_load_buffer(bytes, size, true, &s.allocator, &prog, err, sizeof err);
  if (st != DDK_OK) {
    ddk_conform_result_fail(r, "error", "program", st, err);
    goto cleanup;
  }
  /* the reference, checked against PyTorch: on a target this catches
   * miscompiled portable kernels, or a case file of another version */
  if (!ddk_conform_session_run_reference(&s, prog, inputs, num_inputs, &mr, r)) goto cleanup;
  for (uint32_t i = 0; i < c->num_outputs; ++i) {
    char msg[512] = "";
    if (!ddk_case_compare(c, c->outputs[i], ddk_method_output(mr, i), NULL, DDK_ACCURACY_DEFAULT,
                          NULL, msg, sizeof msg)) {
      r->outcome = "error";
      snprintf(r->stage, sizeof r->stage, "reference");
      snprintf(r->detail, sizeof r->detail,
               "the reference kernels disagree with the expected output: output %u: %s", i, msg);
      goto cleanup;
    }
  }
  /* the backend(s): lower, init, execute with the debug checks */
  if (!ddk_conform_session_lower(&s, cfg, prog, &low, r)) goto cleanup;
  if (s.primary_partitions == 0) {
    r->outcome = "unsupported";
    if (s.num_names > 1)
      snprintf(r->detail, sizeof r->detail, "none of the backends claimed the node");
    else
      snprintf(r->detail, sizeof r->detail, "%s did not claim the node", r->backend);
    goto cleanup;
  }
  if (!ddk_conform_session_run_backend(&s, cfg, low, inputs, num_inputs, &mb, r)) goto cleanup;
  r->outcome = "pass";
  r->stage[0] = '\0';
  r->detail[0] = '\0';
  r->has_stats = true;
  for (uint32_t i = 0; i < c->num_outputs; ++i) {
    ddk_case_stats st_i;
    char msg[512] = "";
    bool ok = ddk_case_compare(c, c->outputs[i], ddk_method_output(mb, i), ddk_method_output(mr, i),
                               cfg->profile, &st_i, msg, sizeof msg);
    if (i == 0 || st_i.max_abs > r->stats.max_abs || !ok) r->stats = st_i;
    if (!ok) {
      r->outcome = "fail";
      snprintf(r->detail, sizeof r->detail, "output %u: %s", i, msg);
      break;
    }
  }
cleanup:
  ddk_conform_note_stage("destroy");
  ddk_method_destroy(mb);
  ddk_method_destroy(mr);
  ddk_program_destroy(low);
  ddk_program_destroy(prog);
  if (bytes != NULL) ddk_allocator_system()->free(ddk_allocator_system()->self, bytes, size);
  ddk_conform_session_close(&s, r);
}
