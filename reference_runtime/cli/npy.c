/* npy.c — minimal, strict .npy reader/writer. */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char* descr;
  ddk_dtype dtype;
} kDescr[] = {
    {"<f4", DDK_DTYPE_FLOAT32}, {"<f8", DDK_DTYPE_FLOAT64},
    {"<f2", DDK_DTYPE_FLOAT16}, {"|i1", DDK_DTYPE_INT8},
    {"|u1", DDK_DTYPE_UINT8},   {"<i2", DDK_DTYPE_INT16},
    {"<i4", DDK_DTYPE_INT32},   {"<i8", DDK_DTYPE_INT64},
    {"|b1", DDK_DTYPE_BOOL},    {"<c8", DDK_DTYPE_COMPLEX64},
    {"<c16", DDK_DTYPE_COMPLEX128},
};

static ddk_status fail(char* err, size_t cap, ddk_status st, const char* path,
                       const char* what) {
  snprintf(err, cap, "%s: %s", path, what);
  return st;
}

ddk_status npy_read(const char* path, npy_array* out, char* err, size_t cap) {
  memset(out, 0, sizeof *out);
  FILE* f = fopen(path, "rb");
  if (f == NULL) return fail(err, cap, DDK_IO_ERROR, path, "cannot open");
  unsigned char pre[12];
  char* header = NULL;
  ddk_status st = DDK_INVALID_ARGUMENT;
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
    fail(err, cap, st, path, "not a .npy file (bad magic)");
    goto done;
  }
  size_t hlen;
  if (pre[6] == 1) {
    hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
  } else if (pre[6] == 2 || pre[6] == 3) {
    if (fread(pre + 10, 1, 2, f) != 2) {
      fail(err, cap, st, path, "truncated header");
      goto done;
    }
    hlen = (size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) |
           ((size_t)pre[11] << 24);
  } else {
    fail(err, cap, st, path, "unsupported .npy version");
    goto done;
  }
  if (hlen > 65536) {
    fail(err, cap, st, path, "header too large");
    goto done;
  }
  header = calloc(hlen + 1, 1);
  if (header == NULL || fread(header, 1, hlen, f) != hlen) {
    fail(err, cap, st, path, "truncated header");
    goto done;
  }
  const char* d = strstr(header, "'descr':");
  const char* fo = strstr(header, "'fortran_order':");
  const char* sh = strstr(header, "'shape':");
  if (!d || !fo || !sh) {
    fail(err, cap, st, path, "header lacks descr/fortran_order/shape");
    goto done;
  }
  d = strchr(d + 8, '\'');
  if (d == NULL) {
    fail(err, cap, st, path, "bad descr");
    goto done;
  }
  ++d;
  out->dtype = DDK_DTYPE_INVALID;
  for (size_t i = 0; i < sizeof kDescr / sizeof kDescr[0]; ++i) {
    size_t n = strlen(kDescr[i].descr);
    if (strncmp(d, kDescr[i].descr, n) == 0 && d[n] == '\'') {
      out->dtype = kDescr[i].dtype;
    }
  }
  if (out->dtype == DDK_DTYPE_INVALID) {
    fail(err, cap, st, path,
         "unsupported dtype (need little-endian f2/f4/f8/i1/u1/i2/i4/i8/b1)");
    goto done;
  }
  if (strncmp(fo + 16, " False", 6) != 0 && strncmp(fo + 16, "False", 5) != 0) {
    fail(err, cap, st, path, "Fortran-order arrays are not supported");
    goto done;
  }
  const char* p = strchr(sh, '(');
  if (p == NULL) {
    fail(err, cap, st, path, "bad shape");
    goto done;
  }
  ++p;
  size_t numel = 1;
  while (*p && *p != ')') {
    while (*p == ' ' || *p == ',') ++p;
    if (*p == ')') break;
    char* end;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 0 || out->rank == DDK_MAX_RANK || v > (1ll << 40)) {
      fail(err, cap, st, path, "bad shape (negative, too large or rank > 8)");
      goto done;
    }
    out->sizes[out->rank++] = v;
    numel *= (size_t)v;
    if (numel > ((size_t)1 << 40)) {
      fail(err, cap, st, path, "array too large");
      goto done;
    }
    p = end;
  }
  out->nbytes = numel * ddk_dtype_size(out->dtype);
  out->data = malloc(out->nbytes ? out->nbytes : 1);
  if (out->data == NULL) {
    fail(err, cap, DDK_OUT_OF_MEMORY, path, "out of memory");
    goto done;
  }
  if (fread(out->data, 1, out->nbytes, f) != out->nbytes) {
    fail(err, cap, st, path, "truncated data");
    goto done;
  }
  st = DDK_OK;
done:
  free(header);
  fclose(f);
  if (st != DDK_OK) npy_free(out);
  return st;
}

void npy_free(npy_array* a) {
  free(a->data);
  a->data = NULL;
}

static uint16_t f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

static float bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

ddk_status npy_convert(npy_array* a, ddk_dtype dtype, char* err, size_t cap) {
  if (a->dtype == dtype) return DDK_OK;
  if (a->dtype == DDK_DTYPE_FLOAT32 && dtype == DDK_DTYPE_BFLOAT16) {
    size_t n = a->nbytes / 4;
    float* src = a->data;
    uint16_t* dst = a->data;
    for (size_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
    a->nbytes = n * 2;
    a->dtype = dtype;
    return DDK_OK;
  }
  snprintf(err, cap, "array has dtype %s, the program input is %s",
           ddk_dtype_name(a->dtype), ddk_dtype_name(dtype));
  return DDK_DTYPE_MISMATCH;
}

ddk_status npy_write(const char* path, const ddk_tensor* t, char* err,
                     size_t cap) {
  const char* descr = NULL;
  ddk_dtype dt = t->dtype == DDK_DTYPE_BFLOAT16 ? DDK_DTYPE_FLOAT32 : t->dtype;
  for (size_t i = 0; i < sizeof kDescr / sizeof kDescr[0]; ++i)
    if (kDescr[i].dtype == dt) descr = kDescr[i].descr;
  if (descr == NULL) {
    snprintf(err, cap, "%s: cannot write dtype %s", path,
             ddk_dtype_name(t->dtype));
    return DDK_UNSUPPORTED_DTYPE;
  }
  char header[512];
  int n = snprintf(header, sizeof header,
                   "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (uint32_t i = 0; i < t->rank; ++i)
    n += snprintf(header + n, sizeof header - (size_t)n, "%lld%s",
                  (long long)t->sizes[i], t->rank == 1 ? "," : (i + 1 < t->rank ? ", " : ""));
  n += snprintf(header + n, sizeof header - (size_t)n, "), }");
  size_t total = 10 + (size_t)n + 1;
  size_t pad = (64 - total % 64) % 64;
  FILE* f = fopen(path, "wb");
  if (f == NULL) {
    snprintf(err, cap, "%s: cannot open for writing", path);
    return DDK_IO_ERROR;
  }
  size_t hlen = (size_t)n + pad + 1;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                           (unsigned char)(hlen & 0xff),
                           (unsigned char)(hlen >> 8)};
  fwrite(pre, 1, 10, f);
  fwrite(header, 1, (size_t)n, f);
  for (size_t i = 0; i < pad; ++i) fputc(' ', f);
  fputc('\n', f);
  int64_t numel = ddk_tensor_numel(t);
  if (t->dtype == DDK_DTYPE_BFLOAT16) {
    const uint16_t* src = t->data;
    for (int64_t i = 0; i < numel; ++i) {
      float v = bf16_to_f32(src[i]);
      fwrite(&v, 4, 1, f);
    }
  } else {
    fwrite(t->data, ddk_dtype_size(t->dtype), (size_t)numel, f);
  }
  if (fclose(f) != 0) {
    snprintf(err, cap, "%s: write failed", path);
    return DDK_IO_ERROR;
  }
  return DDK_OK;
}
