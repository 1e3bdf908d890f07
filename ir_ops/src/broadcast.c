/*
 * broadcast.c — ATen broadcasting of two shapes, and contiguous layout.
 */
#include <stdio.h>

#include "ddk/ops.h"

/* Formats "[2, 3]" into buf. */
static void format_shape(const int64_t* s, uint32_t rank, char* buf, size_t cap) {
  size_t n = 0;
  int w = snprintf(buf, cap, "[");
  for (uint32_t i = 0; w >= 0 && i < rank; ++i) {
    n += (size_t)w;
    if (n >= cap) return;
    w = snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)s[i]);
  }
  if (w >= 0 && (n += (size_t)w) < cap) snprintf(buf + n, cap - n, "]");
}

ddk_status ddk_broadcast_shapes(const int64_t* a, uint32_t a_rank, const int64_t* b,
                                uint32_t b_rank, int64_t* out_sizes, uint32_t* out_rank, char* err,
                                size_t err_cap) {
  if (a_rank > DDK_MAX_RANK || b_rank > DDK_MAX_RANK) {
    if (err_cap > 0) snprintf(err, err_cap, "broadcast: rank above %d", DDK_MAX_RANK);
    return DDK_INVALID_ARGUMENT;
  }
  const uint32_t rank = a_rank > b_rank ? a_rank : b_rank;
  int64_t res[DDK_MAX_RANK];
  for (uint32_t i = 0; i < rank; ++i) {
    /* right-aligned: dim i of the result is dim i - (rank - x_rank) of x */
    const int64_t sa = i + a_rank >= rank ? a[i + a_rank - rank] : 1;
    const int64_t sb = i + b_rank >= rank ? b[i + b_rank - rank] : 1;
    if (sa == sb || sb == 1) {
      res[i] = sa;
    } else if (sa == 1) {
      res[i] = sb;
    } else {
      if (err_cap > 0) {
        char sa_s[96], sb_s[96];
        format_shape(a, a_rank, sa_s, sizeof sa_s);
        format_shape(b, b_rank, sb_s, sizeof sb_s);
        snprintf(err, err_cap,
                 "shapes %s and %s are not broadcastable: size %lld vs %lld at result dim %u", sa_s,
                 sb_s, (long long)sa, (long long)sb, i);
      }
      return DDK_SHAPE_MISMATCH;
    }
  }
  for (uint32_t i = 0; i < rank; ++i) out_sizes[i] = res[i];
  *out_rank = rank;
  return DDK_OK;
}

void ddk_tensor_set_contiguous(ddk_tensor* t) {
  /* unsigned: a hostile shape may overflow before ddk_infer_node rejects it */
  uint64_t s = 1;
  for (int i = (int)t->rank - 1; i >= 0; --i) {
    t->strides[i] = (int64_t)s;
    t->dim_order[i] = (uint8_t)i;
    s *= t->sizes[i] > 1 ? (uint64_t)t->sizes[i] : 1u; /* zero-size dims keep ATen's strides */
  }
}
