/*
 * npu_sim_config.c — the npu_sim.* options: hardware configuration
 * (revision, MAC array, SRAM, DMA bandwidth, clock), compile limits
 * (maximum partition size, op allow-list) and injected faults; the compat
 * string and the device name derived from a configuration.
 *
 * Every option is validated where it is read: a wrong type, an
 * out-of-range value or an unknown npu_sim.* key is DDK_INVALID_ARGUMENT
 * with a message naming the key, the value and what is allowed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "npu_sim_internal.h"

void npu_errorf(char* err, size_t err_cap, const char* fmt, ...) {
  if (err == NULL || err_cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_cap, fmt, ap);
  va_end(ap);
}

void npu_log(const ddk_services* s, int32_t level, const char* fmt, ...) {
  if (s == NULL || s->logger.log == NULL) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  s->logger.log(s->logger.self, level, "npu_sim", line);
}

/* Layer kind names, indexed by NB_LAYER_*; also the npu_sim.ops names. */
static const char* const kKindNames[NB_LAYER_KIND_END_] = {
    [NB_LAYER_CONV2D] = "conv2d",      [NB_LAYER_DWCONV2D] = "depthwise_conv2d",
    [NB_LAYER_LINEAR] = "linear",      [NB_LAYER_ADD] = "add",
    [NB_LAYER_MAXPOOL] = "max_pool2d", [NB_LAYER_AVGPOOL] = "avg_pool2d",
    [NB_LAYER_MEAN] = "mean",          [NB_LAYER_RELU] = "relu",
    [NB_LAYER_RESHAPE] = "reshape",
};

const char* npu_layer_kind_name(uint32_t kind) {
  if (kind == 0 || kind >= NB_LAYER_KIND_END_) return "?";
  return kKindNames[kind];
}

#define VALID_OPS                                                         \
  "conv2d, depthwise_conv2d, linear, add, max_pool2d, avg_pool2d, mean, " \
  "relu, reshape"

/* One integer option: its key, default and range. */
typedef struct int_option {
  const char* key;
  int64_t fallback, lo, hi;
} int_option;

enum {
  OPT_REVISION,
  OPT_MAC_ROWS,
  OPT_MAC_COLS,
  OPT_SRAM,
  OPT_DMA,
  OPT_CLOCK,
  OPT_MAX_LAYERS,
  OPT_FAULT_EXECUTE_AT,
  OPT_EXTRA_LATENCY,
  OPT_INT_COUNT_
};

static const int_option kIntOptions[OPT_INT_COUNT_] = {
    [OPT_REVISION] = {"npu_sim.revision", 1, 1, 255},
    [OPT_MAC_ROWS] = {"npu_sim.mac_rows", 16, 1, 256},
    [OPT_MAC_COLS] = {"npu_sim.mac_cols", 16, 1, 256},
    [OPT_SRAM] = {"npu_sim.sram_bytes", 1048576, 4096, (int64_t)1 << 30},
    [OPT_DMA] = {"npu_sim.dma_bytes_per_cycle", 16, 1, 4096},
    [OPT_CLOCK] = {"npu_sim.clock_mhz", 1000, 1, 100000},
    [OPT_MAX_LAYERS] = {"npu_sim.max_partition_layers", 0, 0, 1000000},
    [OPT_FAULT_EXECUTE_AT] = {"npu_sim.fault_execute_at", 0, 0, INT64_MAX},
    [OPT_EXTRA_LATENCY] = {"npu_sim.extra_latency_us", 0, 0, 60000000},
};

static const char* type_name(uint32_t t) {
  switch (t) {
    case DDK_OPTION_BOOL:
      return "bool";
    case DDK_OPTION_INT:
      return "int";
    case DDK_OPTION_FLOAT:
      return "float";
    case DDK_OPTION_STRING:
      return "string";
    case DDK_OPTION_BYTES:
      return "bytes";
    default:
      return "unknown";
  }
}

static ddk_status read_int(const ddk_options* options, const int_option* o, int64_t* out, char* err,
                           size_t err_cap) {
  const ddk_option* opt = ddk_options_find(options, o->key);
  *out = o->fallback;
  if (opt == NULL) return DDK_OK;
  if (opt->type != DDK_OPTION_INT) {
    npu_errorf(err, err_cap, "npu_sim: option %s must be an int in %lld..%lld, not a %s", o->key,
               (long long)o->lo, (long long)o->hi, type_name(opt->type));
    return DDK_INVALID_ARGUMENT;
  }
  if (opt->value.i < o->lo || opt->value.i > o->hi) {
    npu_errorf(err, err_cap, "npu_sim: option %s=%lld is outside %lld..%lld", o->key,
               (long long)opt->value.i, (long long)o->lo, (long long)o->hi);
    return DDK_INVALID_ARGUMENT;
  }
  *out = opt->value.i;
  return DDK_OK;
}

/* Parses the comma-separated allow-list into a mask of layer kinds. */
static ddk_status read_ops(const ddk_options* options, uint32_t* mask, char* err, size_t err_cap) {
  const ddk_option* opt = ddk_options_find(options, "npu_sim.ops");
  *mask = 0;
  for (uint32_t k = 1; k < NB_LAYER_KIND_END_; ++k) *mask |= 1u << k;
  if (opt == NULL) return DDK_OK;
  if (opt->type != DDK_OPTION_STRING || opt->value.s == NULL) {
    npu_errorf(err, err_cap,
               "npu_sim: option npu_sim.ops must be a string (a comma-separated "
               "list of: " VALID_OPS "), not a %s",
               type_name(opt->type));
    return DDK_INVALID_ARGUMENT;
  }
  const char* s = opt->value.s;
  *mask = 0;
  while (*s != '\0') {
    while (*s == ' ' || *s == ',') ++s;
    if (*s == '\0') break;
    const char* e = s;
    while (*e != '\0' && *e != ',') ++e;
    size_t n = (size_t)(e - s);
    while (n > 0 && s[n - 1] == ' ') --n;
    uint32_t kind = 0;
    for (uint32_t k = 1; k < NB_LAYER_KIND_END_ && kind == 0; ++k)
      if (strlen(kKindNames[k]) == n && strncmp(kKindNames[k], s, n) == 0) kind = k;
    if (kind == 0) {
      npu_errorf(err, err_cap,
                 "npu_sim: option npu_sim.ops=\"%s\" names an unknown layer kind "
                 "'%.*s'; valid: " VALID_OPS,
                 opt->value.s, (int)(n > 64 ? 64 : n), s);
      return DDK_INVALID_ARGUMENT;
    }
    *mask |= 1u << kind;
    s = e;
  }
  return DDK_OK;
}

/* Every npu_sim.* key must be one we know (a typo is an error, not a
 * silently ignored option). */
static ddk_status check_keys(const ddk_options* options, char* err, size_t err_cap) {
  if (options == NULL) return DDK_OK;
  static const char* const kOther[] = {"npu_sim.ops", "npu_sim.fault_init"};
  for (uint32_t i = 0; i < options->count; ++i) {
    const char* key = options->items[i].key;
    if (key == NULL || strncmp(key, "npu_sim.", 8) != 0) continue;
    bool known = false;
    for (uint32_t k = 0; k < OPT_INT_COUNT_ && !known; ++k)
      known = strcmp(key, kIntOptions[k].key) == 0;
    for (uint32_t k = 0; k < 2 && !known; ++k) known = strcmp(key, kOther[k]) == 0;
    if (!known) {
      npu_errorf(err, err_cap,
                 "npu_sim: unknown option %s; known: npu_sim.revision, mac_rows, "
                 "mac_cols, sram_bytes, dma_bytes_per_cycle, clock_mhz, "
                 "max_partition_layers, ops, fault_init, fault_execute_at, "
                 "extra_latency_us",
                 key);
      return DDK_INVALID_ARGUMENT;
    }
  }
  return DDK_OK;
}

ddk_status npu_config_read(const ddk_options* options, npu_config* out, char* err, size_t err_cap) {
  memset(out, 0, sizeof *out);
  ddk_status st = check_keys(options, err, err_cap);
  if (st != DDK_OK) return st;
  int64_t v[OPT_INT_COUNT_];
  for (uint32_t k = 0; k < OPT_INT_COUNT_; ++k) {
    st = read_int(options, &kIntOptions[k], &v[k], err, err_cap);
    if (st != DDK_OK) return st;
  }
  out->revision = (uint32_t)v[OPT_REVISION];
  out->mac_rows = (uint32_t)v[OPT_MAC_ROWS];
  out->mac_cols = (uint32_t)v[OPT_MAC_COLS];
  out->sram_bytes = (uint64_t)v[OPT_SRAM];
  out->dma_bytes_per_cycle = (uint32_t)v[OPT_DMA];
  out->clock_mhz = (uint32_t)v[OPT_CLOCK];
  out->max_partition_layers = (uint32_t)v[OPT_MAX_LAYERS];
  out->fault_execute_at = (uint64_t)v[OPT_FAULT_EXECUTE_AT];
  out->extra_latency_us = (uint64_t)v[OPT_EXTRA_LATENCY];
  st = read_ops(options, &out->ops_mask, err, err_cap);
  if (st != DDK_OK) return st;
  const ddk_option* fi = ddk_options_find(options, "npu_sim.fault_init");
  if (fi != NULL) {
    if (fi->type != DDK_OPTION_BOOL) {
      npu_errorf(err, err_cap, "npu_sim: option npu_sim.fault_init must be a bool, not a %s",
                 type_name(fi->type));
      return DDK_INVALID_ARGUMENT;
    }
    out->fault_init = fi->value.b;
  }
  return DDK_OK;
}

void npu_config_compat(const npu_config* c, char* out, size_t cap) {
  snprintf(out, cap, "npu_sim:fmt=%u;rev=%u;mac=%ux%u;sram=%llu;dma=%u", NB_FORMAT, c->revision,
           c->mac_rows, c->mac_cols, (unsigned long long)c->sram_bytes, c->dma_bytes_per_cycle);
}

void npu_config_device_name(const npu_config* c, char* out, size_t cap) {
  char sram[48];
  if (c->sram_bytes % 1024 == 0)
    snprintf(sram, sizeof sram, "%llu KiB", (unsigned long long)(c->sram_bytes / 1024));
  else
    snprintf(sram, sizeof sram, "%llu B", (unsigned long long)c->sram_bytes);
  snprintf(out, cap, "npu_sim rev %u (%ux%u MACs, %s SRAM, %u B/cycle DMA)", c->revision,
           c->mac_rows, c->mac_cols, sram, c->dma_bytes_per_cycle);
}
