/*
 * abi_test_plugin.c — plugins that exercise the host's ABI negotiation.
 * Built several times with one of these defined:
 *   PLUGIN_MAJOR2     claims ABI 2.0 (a host speaking 1.x must refuse)
 *   PLUGIN_OLD_MINOR  a vtable from an older 1.x header: it ends before
 *                     set_profiling (the host must accept it, slot NULL)
 *   PLUGIN_REFUSES    the entry refuses the host's ABI with a message
 *   PLUGIN_NO_EXECUTE leaves a mandatory slot NULL
 */
#include <ddk/delegate_api.h>
#include <string.h>

static ddk_status t_partition(const ddk_backend* self, const ddk_graph_view* g,
                              const ddk_options* o, const ddk_services* s,
                              bool* claimed, char* err, size_t cap) {
  (void)self; (void)o; (void)s; (void)err; (void)cap;
  for (uint32_t i = 0; i < g->num_nodes; ++i) claimed[i] = false;
  return DDK_OK;
}
static ddk_status t_preprocess(const ddk_backend* self, const ddk_graph_view* g,
                               const ddk_options* o, const ddk_services* s,
                               ddk_blob* b, char* err, size_t cap) {
  (void)self; (void)g; (void)o; (void)s; (void)b;
  ddk_set_error(err, cap, "abi test plugin compiles nothing");
  return DDK_NOT_IMPLEMENTED;
}
static ddk_status t_init(const ddk_backend* self, const void* blob, size_t n,
                         const char* compat, const ddk_options* o,
                         const ddk_services* s, ddk_delegate_handle** h,
                         char* err, size_t cap) {
  (void)self; (void)blob; (void)n; (void)compat; (void)o; (void)s; (void)h;
  ddk_set_error(err, cap, "abi test plugin runs nothing");
  return DDK_NOT_IMPLEMENTED;
}
static ddk_status t_execute(ddk_delegate_handle* h, const ddk_tensor* const* in,
                            uint32_t nin, ddk_tensor* const* out, uint32_t nout,
                            char* err, size_t cap) {
  (void)h; (void)in; (void)nin; (void)out; (void)nout; (void)err; (void)cap;
  return DDK_NOT_IMPLEMENTED;
}
static void t_destroy(ddk_delegate_handle* h) { (void)h; }

static ddk_backend vt = {
    .header = DDK_STRUCT_HEADER_INIT(ddk_backend),
    .name = "abi_test",
    .version = "0",
    .partition = t_partition,
    .preprocess = t_preprocess,
    .init = t_init,
    .execute = t_execute,
    .destroy = t_destroy,
};

DDK_DECLARE_BACKEND_ENTRY() {
  (void)host_abi_version;
#if defined(PLUGIN_MAJOR2)
  vt.header.abi_version = DDK_ABI_MAKE_VERSION(2, 0);
#elif defined(PLUGIN_OLD_MINOR)
  vt.header.struct_size = (uint32_t)offsetof(ddk_backend, set_profiling);
  vt.name = "abi_old_minor";
#elif defined(PLUGIN_REFUSES)
  ddk_set_error(err, err_cap, "this plugin needs host ABI 1.7 or newer");
  return DDK_ABI_MISMATCH;
#elif defined(PLUGIN_NO_EXECUTE)
  vt.execute = NULL;
#endif
  (void)err; (void)err_cap;
  *out_backend = &vt;
  return DDK_OK;
}
