/*
 * dtype_promotion.c — ATen's type promotion for the dtypes of the DDK dtype
 * table: promote_types (c10::promoteTypes), the dtype category, and the
 * "wrapped number" rule for Python scalars (at::native::result_type).
 */
#include "ddk/ops.h"

int ddk_dtype_category(ddk_dtype dtype) {
  switch (dtype) {
    case DDK_DTYPE_BOOL:
      return 0;
    case DDK_DTYPE_UINT8:
    case DDK_DTYPE_INT8:
    case DDK_DTYPE_INT16:
    case DDK_DTYPE_INT32:
    case DDK_DTYPE_INT64:
      return 1;
    case DDK_DTYPE_FLOAT16:
    case DDK_DTYPE_BFLOAT16:
    case DDK_DTYPE_FLOAT32:
    case DDK_DTYPE_FLOAT64:
      return 2;
    case DDK_DTYPE_COMPLEX64:
    case DDK_DTYPE_COMPLEX128:
      return 3;
    default:
      return -1;
  }
}

/* The real type of a complex dtype (float32/float64); reals unchanged. */
static ddk_dtype value_type(ddk_dtype d) {
  if (d == DDK_DTYPE_COMPLEX64) return DDK_DTYPE_FLOAT32;
  if (d == DDK_DTYPE_COMPLEX128) return DDK_DTYPE_FLOAT64;
  return d;
}

static ddk_dtype promote_real(ddk_dtype a, ddk_dtype b) {
  if (a == b) return a;
  if (a == DDK_DTYPE_BOOL) return b;
  if (b == DDK_DTYPE_BOOL) return a;
  const int ca = ddk_dtype_category(a), cb = ddk_dtype_category(b);
  if (ca == 1 && cb == 1) {
    /* uint8 with a signed type: int8 widens to int16, wider ones win */
    if (a == DDK_DTYPE_UINT8 || b == DDK_DTYPE_UINT8) {
      ddk_dtype s = a == DDK_DTYPE_UINT8 ? b : a;
      return s == DDK_DTYPE_INT8 ? DDK_DTYPE_INT16 : s;
    }
    return ddk_dtype_size(a) >= ddk_dtype_size(b) ? a : b;
  }
  if (ca == 2 && cb == 1) return a;
  if (cb == 2 && ca == 1) return b;
  /* both floating */
  if ((a == DDK_DTYPE_FLOAT16 && b == DDK_DTYPE_BFLOAT16) ||
      (a == DDK_DTYPE_BFLOAT16 && b == DDK_DTYPE_FLOAT16))
    return DDK_DTYPE_FLOAT32;
  return ddk_dtype_size(a) >= ddk_dtype_size(b) ? a : b;
}

ddk_dtype ddk_promote_types(ddk_dtype a, ddk_dtype b) {
  const int ca = ddk_dtype_category(a), cb = ddk_dtype_category(b);
  if (ca < 0 || cb < 0) return DDK_DTYPE_INVALID;
  if (a == b) return a;
  if (ca == 3 || cb == 3) {
    /* complex: the complex type whose real part holds both value types */
    ddk_dtype v = promote_real(value_type(a), value_type(b));
    return v == DDK_DTYPE_FLOAT64 ? DDK_DTYPE_COMPLEX128 : DDK_DTYPE_COMPLEX64;
  }
  return promote_real(a, b);
}

ddk_dtype ddk_promote_with_scalar(ddk_dtype tensor_dtype, uint32_t scalar_kind) {
  const int c = ddk_dtype_category(tensor_dtype);
  if (c < 0) return DDK_DTYPE_INVALID;
  /* A wrapped number only matters when its category is higher: its dtype
   * is then the default for the category (int64, float32). */
  if (scalar_kind == DDK_ARG_FLOAT && c < 2) return DDK_DTYPE_FLOAT32;
  if (scalar_kind == DDK_ARG_INT && c < 1) return DDK_DTYPE_INT64;
  return tensor_dtype;
}
