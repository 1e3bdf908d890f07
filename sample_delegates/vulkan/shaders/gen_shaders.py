#!/usr/bin/env python3
"""gen_shaders.py — the Vulkan delegate's shader variants, generated from
templates (the ONE table of kernels is KERNELS below).

    gen_shaders.py list                       kernel names, one a line (CMake
                                              reads it at configure time)
    gen_shaders.py generate OUTDIR            OUTDIR/<kernel>.comp for every
                                              kernel, and OUTDIR/vk_kernels.h
    gen_shaders.py embed OUT.c SPV...         the SPIR-V words and the kernel
                                              info table as C (vk_kernels.c)

A kernel is a template (*.comp.in beside this file) plus #defines: the op's
expression, the storage type (float32, or float16 with VK_F16, which needs
the device's 16-bit storage), the element types of a copy. Each generated
.comp is `#version`, extensions, the defines, common.glsl, the template;
the build compiles each with glslc into SPIR-V and embeds the words.

vk_kernels.h gives the C side an enum (VK_KERNEL_<NAME>), per kernel its
binding count, which bindings it writes, its grid class (how the runtime
turns the blob's work sizes into workgroup counts) and what it needs from
the device; VK_KERNEL_TABLE_HASH changes whenever a kernel's name or
interface (bindings, push constants) changes, and goes into every blob's
compatibility string, so a blob from another build is refused, not
misread. A typed kernel's float16 variant is always its float32 id + 1.
"""
import os
import re
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# Grid classes (C: vk_grid_class).
LINEAR, ROWS, TILES = "VK_GRID_LINEAR", "VK_GRID_ROWS", "VK_GRID_TILES"
# Device needs (C: bit flags).
NEED_16BIT = 1

# ---------------------------------------------------------------------------
# The ops. Expressions are GLSL over float x, y (binary) or x and the
# parameters p0..p3 (unary), mirroring the reference kernels' float32
# formulas (reference_runtime/kernels/op_*.c) so results round alike.
# ---------------------------------------------------------------------------

BINARY_OPS = {
    # add and sub: self + alpha * other, fused as ATen's float32 kernel
    # (sub is add with -alpha; alpha = +-1 is then exact a + b / a - b);
    # float16: computed in float without fusing, as ATen's vectorised loop
    "add": ("fma(alpha, y, x)", "(x + alpha * y)"),
    "mul": "x * y",
    "div": "x / y",
    # NaN in either input propagates, as ATen's maximum/minimum
    "maximum": "(isnan(x) ? x : isnan(y) ? y : (x > y ? x : y))",
    "minimum": "(isnan(x) ? x : isnan(y) ? y : (x < y ? x : y))",
}

UNARY_OPS = {
    "relu": "(x < 0.0 ? 0.0 : x)",
    # clamp / hardtanh: p0 = min, p1 = max (+-inf when absent); the limits'
    # NaN cases are decided at compile time
    "clamp": "vk_clampf(x, p0, p1)",
    "leaky_relu": "(x > 0.0 ? x : x * p0)",
    # elu: p0 = alpha * scale, p1 = scale, p2 = input_scale
    "elu": "(x > 0.0 ? x * p1 : vk_expm1(x * p2) * p0)",
    "sigmoid": "(1.0 / (1.0 + vk_exp(-x)))",
    "tanh": "vk_tanh(x)",
    "gelu": "(x * 0.5 * (1.0 + vk_erf(x * 0.70710678118654752440)))",
    "gelu_tanh": "vk_gelu_tanh(x)",
    "abs": "abs(x)",
    "neg": "(-x)",
    "exp": "vk_exp(x)",
    "log": "vk_log(x)",
    "expm1": "vk_expm1(x)",
    "sqrt": "sqrt(x)",
    "rsqrt": "(1.0 / sqrt(x))",
    "reciprocal": "(1.0 / x)",
    "floor": "floor(x)",
    "ceil": "ceil(x)",
    "round": "roundEven(x)",
    "trunc": "trunc(x)",
    # ATen: (0 < x) - (x < 0): +0 for zeros and NaN
    "sign": "(float(x > 0.0) - float(x < 0.0))",
    "erf": "vk_erf(x)",
    # x * scale + shift, per element (p0 scale, p1 shift); scalar affine
    "affine": "fma(x, p0, p1)",
}

# Reductions: (INIT, COMBINE(a, v), FINISH(s)); mean divides the float
# sum by the count in float, as ATen; amax/amin propagate NaN.
REDUCE_OPS = {
    "sum": ("0.0", "(a + v)", "(s)"),
    "mean": ("0.0", "(a + v)", "(s / float(p.R))"),
    "amax": ("(-VK_INF)", "vk_max_nan(a, v)", "(s)"),
    "amin": ("VK_INF", "vk_min_nan(a, v)", "(s)"),
}

# Extra helpers some unary expressions use (pasted before the template).
UNARY_HELPERS = """
float vk_clampf(float x, float lo, float hi) {
  float v = x < lo ? lo : x;
  return v > hi ? hi : v;
}
float vk_gelu_tanh(float x) {
  precise float cube = x * x * x;
  precise float inner = 0.79788456080286535588 * (x + 0.044715 * cube);
  precise float y = 0.5 * x * (1.0 + vk_tanh(inner));
  return y;
}
"""

TYPES = [("f32", {}, 0), ("f16", {"VK_F16": "1"}, NEED_16BIT)]


# GEMM / implicit-GEMM convolution tiles: (BM, BN, TX, TY) — a workgroup
# computes a BM x BN tile of C (M: rows / output channels, N: columns /
# output positions); the shared-memory flavour runs TX x TY = 128 threads
# (the count every Vulkan device supports), each RM = BM / TY by RN = BN / TX
# outputs. The lowering (vk_lower_nn.c) picks by shape: the small ones keep
# a GEMV-like product (M = 1..4 rows: a classifier) or a convolution at a
# few positions (the 1x1..4x4 tail of a network) from computing padding.
# Every tile here has both flavours: with 128 threads a tile needs
# BM * BN >= 128 and TX | BN, TY | BM (checked below); a tile for which no
# such shared-memory geometry exists (BM x BN < 128, e.g. 1 x 64) cannot be
# added to this table as is.
GEMM_TILES = {
    "gemm": ((64, 64, 16, 8), (16, 64, 16, 8), (4, 64, 32, 4)),
    "conv": ((64, 64, 16, 8), (32, 64, 16, 8), (64, 16, 16, 8), (64, 4, 4, 32)),
}


def _direct_threads(bm, bn):
    """The register-blocked flavour's invocations: up to 8 x 8 outputs each."""
    return max(bn // 8, 1), max(bm // 8, 1)


def _check_tiles():
    for kind, tiles in GEMM_TILES.items():
        for bm, bn, tx, ty in tiles:
            dx, dy = _direct_threads(bm, bn)
            if tx * ty != 128 or bn % tx or bm % ty or bn % dx or bm % dy:
                raise SystemExit(f"gen_shaders.py: {kind} tile {bm}x{bn}: no valid "
                                 f"thread geometry ({tx}x{ty} / {dx}x{dy})")


class Kernel:
    def __init__(self, name, template, defines, nbind, writes, grid, needs=0,
                 tile=(1, 1), helpers=""):
        self.name = name
        self.template = template
        self.defines = defines
        self.nbind = nbind
        self.writes = writes  # bit mask over bindings
        self.grid = grid
        self.needs = needs
        self.tile = tile  # (x, y) work items per workgroup for TILES
        self.helpers = helpers
        self.alt = name  # the variant for CPU implementations (same interface)


def _typed(name, template, defines, nbind, writes, grid, tile=(1, 1), helpers=""):
    """The float32 variant, then the float16 one (id + 1)."""
    out = []
    for suffix, tdef, need in TYPES:
        d = dict(defines)
        d.update(tdef)
        out.append(Kernel(f"{name}_{suffix}", template, d, nbind, writes, grid, need,
                          tile, helpers))
    return out


def kernels():
    ks = []
    # each elementwise op: the strided kernel, then its contiguous vec4 form
    # (float32 then float16 of each, so the vec4 float32 id is the strided
    # float32 id + 2)
    for op, expr in BINARY_OPS.items():
        e32, e16 = expr if isinstance(expr, tuple) else (expr, expr)
        for name, tmpl, extra in ((f"binary_{op}", "binary.comp.in", {}),
                                  (f"binary_{op}_vec4", "vec4.comp.in", {"BINARY": "1"})):
            pair = _typed(name, tmpl, dict(extra, **{"OP(x, y)": e32}), 3, 0b100, LINEAR)
            pair[1].defines["OP(x, y)"] = e16
            ks += pair
    for op, expr in UNARY_OPS.items():
        ks += _typed(f"unary_{op}", "unary.comp.in", {"OP(x)": expr}, 2, 0b10, LINEAR,
                     helpers=UNARY_HELPERS)
        ks += _typed(f"unary_{op}_vec4", "vec4.comp.in", {"OP(x)": expr}, 2, 0b10, LINEAR,
                     helpers=UNARY_HELPERS)
    ks += _typed("fill", "fill.comp.in", {}, 1, 0b1, LINEAR)
    # copies: 32-bit words (float32, int32: bit exact), 16-bit words, and
    # the float32 <-> float16 conversions of the fp16 mode's boundaries
    ks.append(Kernel("copy_b32", "copy.comp.in",
                     {"SRC_T": "uint", "DST_T": "uint", "CONV(v)": "(v)"}, 2, 0b10, LINEAR))
    ks.append(Kernel("copy_b16", "copy.comp.in",
                     {"SRC_T": "uint16_t", "DST_T": "uint16_t", "CONV(v)": "(v)"}, 2, 0b10,
                     LINEAR, NEED_16BIT))
    # contiguous bit copy of 16-byte vectors (either element size)
    ks.append(Kernel("copy_vec4", "vec4.comp.in", {"COPY": "1"}, 2, 0b10, LINEAR))
    ks.append(Kernel("convert_f32_f16", "copy.comp.in",
                     {"SRC_T": "float", "DST_T": "float16_t", "CONV(v)": "float16_t(v)"}, 2,
                     0b10, LINEAR, NEED_16BIT))
    ks.append(Kernel("convert_f16_f32", "copy.comp.in",
                     {"SRC_T": "float16_t", "DST_T": "float", "CONV(v)": "float(v)"}, 2,
                     0b10, LINEAR, NEED_16BIT))
    # GEMM tiles: see GEMM_TILES; each in two flavours with one interface
    for kind, tiles in GEMM_TILES.items():
        for bm, bn, tx, ty in tiles:
            d = {"BM": str(bm), "BN": str(bn), "BK": "16", "TX": str(tx), "TY": str(ty)}
            if kind == "conv":
                d["CONV"] = "1"
            tiled = _typed(f"{kind}_{bm}x{bn}", "gemm.comp.in", d, 4, 0b1000, TILES,
                           tile=(bn, bm))
            # register-blocked: the same tile, up to 8x8 outputs per invocation
            dx, dy = _direct_threads(bm, bn)
            dd = dict(d, DIRECT="1", TX=str(dx), TY=str(dy))
            direct = _typed(f"{kind}_{bm}x{bn}_direct", "gemm.comp.in", dd, 4, 0b1000, TILES,
                            tile=(bn, bm))
            for t, r in zip(tiled, direct):
                t.alt = r.name  # same interface: the runtime may swap them
            ks += tiled + direct
    ks += _typed("dconv", "dconv.comp.in", {}, 4, 0b1000, LINEAR)
    ks += _typed("dconv_t", "dconv.comp.in", {"TRANSPOSED": "1"}, 4, 0b1000, LINEAR)
    ks += _typed("maxpool2d", "pool2d.comp.in", {"MAX": "1"}, 3, 0b110, LINEAR)
    ks += _typed("avgpool2d", "pool2d.comp.in", {"AVG": "1"}, 2, 0b10, LINEAR)
    ks += _typed("adaptive_avgpool2d", "pool2d.comp.in", {}, 2, 0b10, LINEAR)
    for op, (init, comb, fin) in REDUCE_OPS.items():
        base = {"INIT": init, "COMBINE(a, v)": comb, "FINISH(s)": fin}
        ks += _typed(f"reduce_{op}_rows", "reduce.comp.in", dict(base, ROWS="1"), 2, 0b10, ROWS)
        ks += _typed(f"reduce_{op}_lanes", "reduce.comp.in", base, 2, 0b10, LINEAR)
    ks += _typed("softmax", "softmax.comp.in", {}, 2, 0b10, ROWS)
    ks += _typed("log_softmax", "softmax.comp.in", {"LOG": "1"}, 2, 0b10, ROWS)
    ks += _typed("layernorm", "layernorm.comp.in", {}, 6, 0b111000, ROWS)
    ks += _typed("batchnorm", "chan.comp.in", {}, 6, 0b100000, LINEAR)
    ks += _typed("upsample_nearest", "upsample.comp.in", {"NEAREST": "1"}, 2, 0b10, LINEAR)
    ks += _typed("upsample_bilinear", "upsample.comp.in", {}, 2, 0b10, LINEAR)
    ks += _typed("embedding", "embedding.comp.in", {}, 3, 0b100, LINEAR)
    ks += _typed("where", "where.comp.in", {}, 4, 0b1000, LINEAR)
    return ks


# ---------------------------------------------------------------------------


def _read(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return f.read()


def source(k):
    """The GLSL of kernel k."""
    lines = ["#version 450", f"// generated by gen_shaders.py from {k.template}: {k.name}",
             "// do not edit"]
    lines.append("#extension GL_EXT_control_flow_attributes : enable")
    if k.needs & NEED_16BIT:
        lines.append("#extension GL_EXT_shader_16bit_storage : require")
    for key, val in k.defines.items():
        lines.append(f"#define {key} {val}")
    return ("\n".join(lines) + "\n" + _read("common.glsl") + k.helpers + "\n" +
            _read(k.template))


def interface_hash(ks):
    """crc32 over each kernel's name, bindings and push-constant block."""
    h = 0
    for k in ks:
        t = _read(k.template)
        m = re.search(r"layout\(push_constant\).*?\}\s*p;", t, re.S)
        sig = f"{k.name}|{k.nbind}|{k.writes}|{k.grid}|{k.tile}|{m.group(0) if m else ''}"
        h = zlib.crc32(sig.encode(), h)
    return h


def cname(k):
    return "VK_KERNEL_" + k.name.upper()


def header(ks):
    out = ["/* vk_kernels.h — generated by gen_shaders.py; do not edit. */",
           "#ifndef DDK_VK_KERNELS_H_", "#define DDK_VK_KERNELS_H_", "",
           "#include <stddef.h>", "#include <stdint.h>", "",
           "/** How the runtime turns a dispatch's work sizes into workgroups. */",
           "typedef enum vk_grid_class {",
           "  VK_GRID_LINEAR = 0, /**< work[0] items, 128 per group, grid-stride */",
           "  VK_GRID_ROWS = 1,   /**< work[0] rows, one group each, grid-stride */",
           "  VK_GRID_TILES = 2,  /**< work[0] x work[1] x work[2] in tiles */",
           "} vk_grid_class;", "",
           "/** Device needs of a kernel. */",
           "enum { VK_NEED_16BIT = 1 };", "",
           "/** The kernels, in table order. */", "typedef enum vk_kernel_id {"]
    for k in ks:
        out.append(f"  {cname(k)},")
    out += ["  VK_KERNEL_COUNT", "} vk_kernel_id;", "",
            f"#define VK_KERNEL_TABLE_HASH 0x{interface_hash(ks):08x}u", "",
            "/** What the runtime knows of one kernel. */",
            "typedef struct vk_kernel_info {",
            "  const char* name;",
            "  const uint32_t* spirv; /**< SPIR-V words */",
            "  size_t spirv_size;     /**< bytes */",
            "  uint8_t num_bindings;",
            "  uint8_t write_mask;    /**< bit i: binding i is written */",
            "  uint8_t grid;          /**< vk_grid_class */",
            "  uint8_t needs;         /**< VK_NEED_* */",
            "  uint16_t tile_x, tile_y; /**< VK_GRID_TILES: items per group */",
            "  uint16_t cpu_alt;      /**< same interface, for CPU implementations */",
            "} vk_kernel_info;", "",
            "/** Indexed by vk_kernel_id (vk_kernels.c, generated). */",
            "extern const vk_kernel_info vk_kernel_table[VK_KERNEL_COUNT];", "",
            "#endif /* DDK_VK_KERNELS_H_ */", ""]
    return "\n".join(out)


def embed(ks, out_path, spvs):
    by_name = {os.path.basename(p)[:-len(".spv")]: p for p in spvs}
    out = ["/* vk_kernels.c — generated by gen_shaders.py embed; do not edit. */",
           '#include "vk_kernels.h"', ""]
    for k in ks:
        data = open(by_name[k.name], "rb").read()
        if len(data) % 4:
            raise SystemExit(f"{k.name}.spv: size {len(data)} is not a multiple of 4")
        words = [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]
        out.append(f"static const uint32_t spv_{k.name}[{len(words)}] = {{")
        for i in range(0, len(words), 8):
            out.append("  " + ", ".join(f"0x{w:08x}u" for w in words[i:i + 8]) + ",")
        out.append("};")
    out += ["", "const vk_kernel_info vk_kernel_table[VK_KERNEL_COUNT] = {"]
    index = {k.name: i for i, k in enumerate(ks)}
    for k in ks:
        out.append(f'  {{"{k.name}", spv_{k.name}, sizeof spv_{k.name}, {k.nbind}, '
                   f"0x{k.writes:x}, {k.grid}, {k.needs}, {k.tile[0]}, {k.tile[1]}, "
                   f"{index[k.alt]}}},")
    out += ["};", ""]
    _write(out_path, "\n".join(out))


def _write(path, text):
    """Writes only when the content changed (keeps the build incremental)."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    _check_tiles()
    ks = kernels()
    if len(argv) >= 2 and argv[1] == "list":
        print("\n".join(k.name for k in ks))
        return 0
    if len(argv) == 3 and argv[1] == "generate":
        os.makedirs(argv[2], exist_ok=True)
        for k in ks:
            _write(os.path.join(argv[2], k.name + ".comp"), source(k))
        _write(os.path.join(argv[2], "vk_kernels.h"), header(ks))
        return 0
    if len(argv) >= 3 and argv[1] == "embed":
        embed(ks, argv[2], argv[3:])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
