/*
 * ddk/delegate_api.h — the DDK backend ABI, version 1.
 *
 * This is the ONE header a backend (delegate) author builds against. It
 * depends on the C standard headers <stddef.h>, <stdint.h> and <stdbool.h>
 * only, and everything in it is stable: within ABI major version 1, fields
 * are only ever appended to structs, optional function slots may be NULL,
 * and a breaking change becomes a new `_v2` struct under a new major version.
 *
 * Lifecycle of a backend, driven by the host runtime:
 *
 *   ddk_backend_entry(host_abi) -> const ddk_backend*    (once, on load)
 *   backend->query()       availability + capabilities   (any time)
 *   backend->partition()   claim nodes of a graph        (ahead of time)
 *   backend->preprocess()  compile one partition -> blob (ahead of time)
 *   backend->init()        blob -> handle                (on program load)
 *   backend->execute()     handle + tensors              (per inference)
 *   backend->destroy()     free the handle               (on unload)
 *
 * Conventions used by every function in this header:
 *  - Return ddk_status; DDK_OK (0) is success. On failure a human-readable
 *    message is written (NUL-terminated, truncated to fit) into the caller's
 *    `err` buffer of `err_cap` bytes; `err` may be NULL when err_cap is 0.
 *  - Never abort, exit or longjmp across this boundary.
 *  - Pointers passed in are borrowed for the duration of the call unless the
 *    comment says otherwise.
 *  - Every struct that crosses the boundary begins with ddk_struct_header;
 *    a reader must only touch fields that lie within header.struct_size.
 */
#ifndef DDK_DELEGATE_API_H_
#define DDK_DELEGATE_API_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Versioning                                                               */
/* ------------------------------------------------------------------------ */

/** ABI major version: a host refuses a plugin whose major differs. */
#define DDK_ABI_VERSION_MAJOR 1u
/** ABI minor version: grows when fields or optional slots are appended. */
#define DDK_ABI_VERSION_MINOR 1u
/** Packs a major/minor pair into the 32-bit form used on the wire. */
#define DDK_ABI_MAKE_VERSION(major, minor) \
  ((uint32_t)(((uint32_t)(major) << 16) | ((uint32_t)(minor)&0xFFFFu)))
/** Major part of a packed version. */
#define DDK_ABI_VERSION_MAJOR_OF(v) ((uint32_t)(v) >> 16)
/** Minor part of a packed version. */
#define DDK_ABI_VERSION_MINOR_OF(v) ((uint32_t)(v)&0xFFFFu)
/** The version this header describes. */
#define DDK_ABI_VERSION \
  DDK_ABI_MAKE_VERSION(DDK_ABI_VERSION_MAJOR, DDK_ABI_VERSION_MINOR)

/**
 * First member of every struct that crosses the ABI.
 * struct_size: sizeof the struct as the writer compiled it.
 * abi_version: DDK_ABI_VERSION of the header the writer compiled against.
 * A reader with a larger struct treats the missing tail as zero / NULL.
 */
typedef struct ddk_struct_header {
  uint32_t struct_size;
  uint32_t abi_version;
} ddk_struct_header;

/** Initialiser for a header of struct type T. */
#define DDK_STRUCT_HEADER_INIT(T) \
  { (uint32_t)sizeof(T), DDK_ABI_VERSION }

/**
 * True when a struct whose header is `h` holds the member `field` of the
 * struct type T (i.e. the writer's struct was large enough to include it).
 */
#define DDK_STRUCT_HAS_FIELD(h, T, field)           \
  ((h)->struct_size >= offsetof(T, field) + sizeof(((T*)0)->field))

/* ------------------------------------------------------------------------ */
/* Status codes                                                             */
/* ------------------------------------------------------------------------ */

/*
 * The ONE table of status codes. X(NAME, value, "description").
 * Groups: 0 ok; 1-99 the caller's input; 100-149 resources;
 * 150-199 backends and plugins; 200+ internal.
 */
#define DDK_FOR_EACH_STATUS(X)                                                \
  X(OK, 0, "ok")                                                              \
  X(INVALID_ARGUMENT, 1, "invalid argument")                                  \
  X(INVALID_PROGRAM, 2, "invalid program")                                    \
  X(UNSUPPORTED_OP, 3, "unsupported operator")                                \
  X(UNSUPPORTED_DTYPE, 4, "unsupported dtype")                                \
  X(SHAPE_MISMATCH, 5, "shape mismatch")                                      \
  X(DTYPE_MISMATCH, 6, "dtype mismatch")                                      \
  X(OUT_OF_RANGE, 7, "index out of range")                                    \
  X(DIVISION_BY_ZERO, 8, "integer division by zero")                          \
  X(NOT_FOUND, 9, "not found")                                                \
  X(UNSUPPORTED_FEATURE, 10, "unsupported feature")                           \
  X(OUT_OF_MEMORY, 100, "out of memory")                                      \
  X(IO_ERROR, 101, "i/o error")                                               \
  X(RESOURCE_EXHAUSTED, 102, "resource exhausted")                            \
  X(BACKEND_UNAVAILABLE, 150, "backend unavailable")                          \
  X(ABI_MISMATCH, 151, "ABI version mismatch")                                \
  X(INCOMPATIBLE_BLOB, 152, "incompatible delegate blob")                     \
  X(BACKEND_FAILURE, 153, "backend failure")                                  \
  X(DEVICE_LOST, 154, "device lost")                                          \
  X(OUT_OF_BOUNDS_WRITE, 155, "wrote outside an output buffer")               \
  X(INPUT_MODIFIED, 156, "modified an input")                                 \
  X(INTERNAL, 200, "internal error")                                          \
  X(NOT_IMPLEMENTED, 201, "not implemented")

/** Status code; DDK_OK (0) is success. Values are stable. */
typedef int32_t ddk_status;
enum {
#define DDK_X_(name, value, desc) DDK_##name = value,
  DDK_FOR_EACH_STATUS(DDK_X_)
#undef DDK_X_
};

/* ------------------------------------------------------------------------ */
/* Dtypes                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * The ONE dtype table. X(NAME, aten_scalar_type_number, element_size, "name").
 * The numbers are ATen's c10::ScalarType values, so a dtype read from a
 * PyTorch export needs no translation. float16/bfloat16 are stored as
 * uint16_t bit patterns; complex64 as two float32 (re, im).
 */
#define DDK_FOR_EACH_DTYPE(X)        \
  X(UINT8, 0, 1, "uint8")            \
  X(INT8, 1, 1, "int8")              \
  X(INT16, 2, 2, "int16")            \
  X(INT32, 3, 4, "int32")            \
  X(INT64, 4, 8, "int64")            \
  X(FLOAT16, 5, 2, "float16")        \
  X(FLOAT32, 6, 4, "float32")        \
  X(FLOAT64, 7, 8, "float64")        \
  X(COMPLEX64, 9, 8, "complex64")    \
  X(COMPLEX128, 10, 16, "complex128") \
  X(BOOL, 11, 1, "bool")             \
  X(BFLOAT16, 15, 2, "bfloat16")

/** Element type of a tensor: ATen's ScalarType number. */
typedef int32_t ddk_dtype;
enum {
#define DDK_X_(name, value, size, str) DDK_DTYPE_##name = value,
  DDK_FOR_EACH_DTYPE(DDK_X_)
#undef DDK_X_
  /** Not a dtype: "absent" in optional ScalarType arguments. */
  DDK_DTYPE_INVALID = -1
};

/** Size in bytes of one element of `dtype`, or 0 for an unknown dtype. */
static inline size_t ddk_dtype_size(ddk_dtype dtype) {
  switch (dtype) {
#define DDK_X_(name, value, size, str) \
  case value:                          \
    return size;
    DDK_FOR_EACH_DTYPE(DDK_X_)
#undef DDK_X_
    default:
      return 0;
  }
}

/** Name of `dtype` ("float32", ...), or "unknown". Never NULL. */
static inline const char* ddk_dtype_name(ddk_dtype dtype) {
  switch (dtype) {
#define DDK_X_(name, value, size, str) \
  case value:                          \
    return str;
    DDK_FOR_EACH_DTYPE(DDK_X_)
#undef DDK_X_
    default:
      return "unknown";
  }
}

/* ------------------------------------------------------------------------ */
/* Tensors                                                                  */
/* ------------------------------------------------------------------------ */

/** Highest tensor rank the ABI carries. */
#define DDK_MAX_RANK 8

/** Quantization scheme of a tensor. */
typedef enum ddk_qscheme {
  DDK_QSCHEME_NONE = 0,
  DDK_QSCHEME_PER_TENSOR_AFFINE = 1,
  DDK_QSCHEME_PER_CHANNEL_AFFINE = 2,
} ddk_qscheme;

/**
 * Quantization parameters (as in ATen: real = (q - zero_point) * scale).
 * For per-tensor, num_channels is 1. For per-channel, there is one scale
 * and zero point per index along `axis`. Arrays are owned by whoever owns
 * the enclosing tensor description (the program, for program tensors).
 */
typedef struct ddk_quant_params {
  ddk_struct_header header;
  int32_t scheme;            /**< ddk_qscheme */
  int32_t axis;              /**< channel axis (per-channel), else 0 */
  uint32_t num_channels;     /**< number of scales / zero points */
  const double* scales;      /**< num_channels scales */
  const int64_t* zero_points; /**< num_channels zero points */
  int64_t quant_min;         /**< smallest representable integer */
  int64_t quant_max;         /**< largest representable integer */
} ddk_quant_params;

/**
 * A tensor in memory: what `execute` and portable kernels see.
 *  - sizes: the actual sizes (at most DDK_MAX_RANK dims; rank 0 = scalar).
 *  - dim_order: the memory order of dims, outermost first; contiguous is
 *    0,1,..,rank-1; channels-last 4-d is 0,2,3,1 (as ExecuTorch).
 *  - strides: in elements, consistent with sizes and dim_order (dense).
 *  - data: host memory, aligned to at least 16 bytes; `capacity` bytes are
 *    valid (>= numel * element size).
 *  - quant: NULL unless the tensor is quantized.
 */
typedef struct ddk_tensor {
  ddk_struct_header header;
  void* data;
  size_t capacity;
  ddk_dtype dtype;
  uint32_t rank;
  int64_t sizes[DDK_MAX_RANK];
  int64_t strides[DDK_MAX_RANK];
  uint8_t dim_order[DDK_MAX_RANK];
  const ddk_quant_params* quant;
} ddk_tensor;

/** Number of elements of `t` (1 for rank 0). */
static inline int64_t ddk_tensor_numel(const ddk_tensor* t) {
  int64_t n = 1;
  for (uint32_t i = 0; i < t->rank; ++i) n *= t->sizes[i];
  return n;
}

/** Flags of a tensor value in a graph. */
enum {
  DDK_VALUE_CONSTANT = 1u << 0, /**< data is known ahead of time */
  DDK_VALUE_INPUT = 1u << 1,    /**< graph input, supplied by the caller */
  DDK_VALUE_OUTPUT = 1u << 2,   /**< graph output, returned to the caller */
};

/**
 * Description of one tensor value of a graph, as partition/preprocess see it.
 * For a dynamic dim (bit i of dynamic_mask set) tensor.sizes[i] holds the
 * upper bound; the actual size is known only at execute.
 * For a constant, tensor.data points at its bytes (read-only; valid for the
 * duration of partition / preprocess only — copy into the blob what init
 * will need).
 */
typedef struct ddk_value_desc {
  ddk_struct_header header;
  ddk_tensor tensor;
  uint32_t flags;        /**< DDK_VALUE_* */
  uint32_t dynamic_mask; /**< bit i: dim i is dynamic (sizes[i] = bound) */
  const char* name;      /**< debug name, never NULL (may be "") */
} ddk_value_desc;

/* ------------------------------------------------------------------------ */
/* Node arguments                                                           */
/* ------------------------------------------------------------------------ */

/**
 * Kind of one argument value of a node. Every parameter type of the op
 * table's schemas maps onto one of these: ATen `Scalar` is INT, FLOAT or
 * BOOL; `SymInt` is INT; `Tensor?[]` is TENSOR_LIST with DDK_NO_VALUE
 * entries for None; MemoryFormat/Layout are INT (ATen's numbering); Device
 * is STRING. An absent optional is NONE.
 */
typedef enum ddk_arg_kind {
  DDK_ARG_NONE = 0,
  DDK_ARG_TENSOR = 1,      /**< u.tensor: value index */
  DDK_ARG_TENSOR_LIST = 2, /**< u.tensors[count]: value indices */
  DDK_ARG_INT = 3,         /**< u.i */
  DDK_ARG_INT_LIST = 4,    /**< u.ints[count] */
  DDK_ARG_FLOAT = 5,       /**< u.f */
  DDK_ARG_FLOAT_LIST = 6,  /**< u.floats[count] */
  DDK_ARG_BOOL = 7,        /**< u.b */
  DDK_ARG_BOOL_LIST = 8,   /**< u.bools[count] */
  DDK_ARG_STRING = 9,      /**< u.str (NUL-terminated) */
  DDK_ARG_DTYPE = 10,      /**< u.i holds a ddk_dtype (ScalarType) */
  DDK_ARG_KIND_COUNT_ = 11
} ddk_arg_kind;

/** "No value" entry in an optional tensor list, or an unset index. */
#define DDK_NO_VALUE UINT32_MAX

/** One argument of a node, in schema order. */
typedef struct ddk_arg {
  uint32_t kind;  /**< ddk_arg_kind */
  uint32_t count; /**< element count for list kinds, else 0 */
  union {
    int64_t i;
    double f;
    bool b;
    uint32_t tensor;
    const uint32_t* tensors;
    const int64_t* ints;
    const double* floats;
    const uint8_t* bools;
    const char* str;
  } u;
} ddk_arg;

/* ------------------------------------------------------------------------ */
/* Graph view                                                               */
/* ------------------------------------------------------------------------ */

/**
 * One operator node. op_id is the stable id from the DDK op table
 * (ir_ops/op_table.tsv); op_name its qualified name ("aten::add.Tensor").
 * args follow the op's schema, one per parameter, defaults filled in.
 * outputs are value indices, one per schema return.
 */
typedef struct ddk_node_view {
  ddk_struct_header header;
  uint32_t op_id;
  const char* op_name;
  uint32_t node_index;   /**< index of the node in the whole program */
  uint32_t num_args;
  const ddk_arg* args;
  uint32_t num_outputs;
  const uint32_t* outputs;
  const char* debug_name; /**< source-level name, never NULL (may be "") */
} ddk_node_view;

/**
 * A read-only graph: the whole program (in partition) or one partition (in
 * preprocess). Nodes are in a valid execution order. For a partition,
 * `inputs` are the values it reads that are produced outside it (or are
 * program inputs); `outputs` the values it produces that are used outside
 * it (or are program outputs). Constants are never listed as inputs: their
 * data is in values[i].tensor.data.
 */
typedef struct ddk_graph_view {
  ddk_struct_header header;
  uint32_t num_values;
  const ddk_value_desc* values;
  uint32_t num_nodes;
  const ddk_node_view* nodes;
  uint32_t num_inputs;
  const uint32_t* inputs;
  uint32_t num_outputs;
  const uint32_t* outputs;
} ddk_graph_view;

/* ------------------------------------------------------------------------ */
/* Options (compile specs and runtime options)                              */
/* ------------------------------------------------------------------------ */

/** Type of one option value. */
typedef enum ddk_option_type {
  DDK_OPTION_BOOL = 0,
  DDK_OPTION_INT = 1,
  DDK_OPTION_FLOAT = 2,
  DDK_OPTION_STRING = 3,
  DDK_OPTION_BYTES = 4,
} ddk_option_type;

/** One typed key/value option. Keys are namespaced "backend.key" or plain. */
typedef struct ddk_option {
  const char* key;
  uint32_t type; /**< ddk_option_type */
  union {
    bool b;
    int64_t i;
    double f;
    const char* s;
    struct {
      const void* data;
      size_t size;
    } bytes;
  } value;
} ddk_option;

/** A list of options; the caller owns it. */
typedef struct ddk_options {
  ddk_struct_header header;
  uint32_t count;
  const ddk_option* items;
} ddk_options;

/** Looks up `key`; NULL when absent (or `options` is NULL). */
static inline const ddk_option* ddk_options_find(const ddk_options* options,
                                                 const char* key) {
  if (options == NULL || key == NULL) return NULL;
  for (uint32_t i = 0; i < options->count; ++i) {
    const char* a = options->items[i].key;
    const char* b = key;
    if (a == NULL) continue;
    while (*a != '\0' && *a == *b) ++a, ++b;
    if (*a == *b) return &options->items[i];
  }
  return NULL;
}

/** Integer option `key`, or `fallback` when absent or not an INT. */
static inline int64_t ddk_options_get_int(const ddk_options* options,
                                          const char* key, int64_t fallback) {
  const ddk_option* o = ddk_options_find(options, key);
  return (o != NULL && o->type == DDK_OPTION_INT) ? o->value.i : fallback;
}

/** Boolean option `key`, or `fallback` when absent or not a BOOL. */
static inline bool ddk_options_get_bool(const ddk_options* options,
                                        const char* key, bool fallback) {
  const ddk_option* o = ddk_options_find(options, key);
  return (o != NULL && o->type == DDK_OPTION_BOOL) ? o->value.b : fallback;
}

/** Float option `key`, or `fallback` when absent or not a FLOAT. */
static inline double ddk_options_get_float(const ddk_options* options,
                                           const char* key, double fallback) {
  const ddk_option* o = ddk_options_find(options, key);
  return (o != NULL && o->type == DDK_OPTION_FLOAT) ? o->value.f : fallback;
}

/** String option `key`, or `fallback` when absent or not a STRING. */
static inline const char* ddk_options_get_string(const ddk_options* options,
                                                 const char* key,
                                                 const char* fallback) {
  const ddk_option* o = ddk_options_find(options, key);
  return (o != NULL && o->type == DDK_OPTION_STRING) ? o->value.s : fallback;
}

/* ------------------------------------------------------------------------ */
/* Runtime services handed to a backend                                     */
/* ------------------------------------------------------------------------ */

/**
 * Allocator. alloc returns memory aligned to `alignment` (a power of two,
 * at least sizeof(void*)) or NULL; free is told the size that was asked
 * for. Backends must allocate through it so the host can account for and
 * check every byte (the conformance suite checks it balances at destroy).
 */
typedef struct ddk_allocator {
  void* self;
  void* (*alloc)(void* self, size_t size, size_t alignment);
  void (*free)(void* self, void* ptr, size_t size);
} ddk_allocator;

/** Log severity. */
typedef enum ddk_log_level {
  DDK_LOG_DEBUG = 0,
  DDK_LOG_INFO = 1,
  DDK_LOG_WARNING = 2,
  DDK_LOG_ERROR = 3,
} ddk_log_level;

/** Logger: `message` is one line without a trailing newline. */
typedef struct ddk_logger {
  void* self;
  void (*log)(void* self, int32_t level, const char* source,
              const char* message);
} ddk_logger;

/** Kind of a profiling event. */
typedef enum ddk_profile_kind {
  DDK_PROFILE_OP = 0,       /**< one delegate-internal operation */
  DDK_PROFILE_COPY = 1,     /**< a host<->device or layout copy */
  DDK_PROFILE_COMPILE = 2,  /**< compilation (preprocess / init) work */
  DDK_PROFILE_OTHER = 3,
} ddk_profile_kind;

/**
 * One profiling event. node_index keys the event back to the original
 * program node (DDK_NO_VALUE when it is not one node's work). Times are in
 * nanoseconds on the clock of services->profiler.now_ns (device times are
 * converted to it by the backend). `name` is borrowed for the call only.
 */
typedef struct ddk_profile_event {
  ddk_struct_header header;
  uint32_t kind; /**< ddk_profile_kind */
  uint32_t node_index;
  const char* name;
  uint64_t start_ns;
  uint64_t end_ns;
  uint64_t bytes; /**< bytes moved, 0 when unknown */
  uint64_t flops; /**< floating-point (or MAC*2) operations, 0 if unknown */
  uint64_t cycles; /**< device cycles when the device reports them, else 0 */
  /** (ABI 1.1) Free-form "key=value;key=value" detail (tiling, utilisation,
   * ...), borrowed for the call only; NULL for none. Check header.struct_size
   * before reading it: a 1.0 backend's events end before this field. */
  const char* detail;
} ddk_profile_event;

/**
 * Profiling sink. `enabled` says whether the host wants events at all; a
 * backend must not emit (nor pay for timing) when it is false.
 */
typedef struct ddk_profiler_sink {
  void* self;
  bool enabled;
  void (*emit)(void* self, const ddk_profile_event* event);
  uint64_t (*now_ns)(void* self);
} ddk_profiler_sink;

/** Everything the host lends a backend. Valid until destroy. */
typedef struct ddk_services {
  ddk_struct_header header;
  ddk_allocator allocator;
  ddk_logger logger;
  ddk_profiler_sink profiler;
} ddk_services;

/* ------------------------------------------------------------------------ */
/* Backend description and vtable                                           */
/* ------------------------------------------------------------------------ */

/** Capability bits reported by query. */
enum {
  DDK_CAP_FLOAT32 = 1u << 0,
  DDK_CAP_FLOAT16 = 1u << 1,
  DDK_CAP_INT8 = 1u << 2,
  DDK_CAP_DEVICE_MEMORY = 1u << 3,  /**< keeps tensors in device memory */
  DDK_CAP_DYNAMIC_SHAPES = 1u << 4, /**< executes with sizes below bounds */
  DDK_CAP_PROFILING = 1u << 5,      /**< emits profiling events */
};

/** What query reports. Filled by the backend into the host's struct. */
typedef struct ddk_backend_info {
  ddk_struct_header header;
  bool available;          /**< false: the device or library is absent */
  uint64_t capabilities;   /**< DDK_CAP_* */
  char device_name[128];   /**< e.g. "llvmpipe (LLVM 15.0.7, 256 bits)" */
  char detail[256];        /**< why unavailable, or free-form detail */
} ddk_backend_info;

/** Opaque per-partition state created by init. */
typedef struct ddk_delegate_handle ddk_delegate_handle;

/** A compiled partition, as preprocess returns it. */
typedef struct ddk_blob {
  ddk_struct_header header;
  /** Bytes allocated with services->allocator (alignment 64); the host
   * takes ownership and frees them with the same allocator and `size`. */
  void* data;
  size_t size;
  /** Compatibility string stored beside the blob and handed back to init,
   * e.g. "npu_sim:fmt=1;macs=256;sram=1048576". NUL-terminated. */
  char compat[128];
} ddk_blob;

/** Vtable flags. */
enum {
  /** init copies what it needs: the host may release the blob after init. */
  DDK_BACKEND_BLOB_RELEASABLE = 1u << 0,
};

typedef struct ddk_backend ddk_backend;

/**
 * The backend vtable. A plugin returns a pointer to a static instance;
 * the host never writes to it. Slots marked (optional) may be NULL.
 * Thread-safety: query/partition/preprocess may be called from any thread
 * but not concurrently on the same backend; init/destroy likewise;
 * execute is called on one handle from one thread at a time, while
 * different handles may execute concurrently.
 */
struct ddk_backend {
  ddk_struct_header header;
  /** Stable identifier stored in programs, e.g. "xnnpack". [a-z0-9_]+ */
  const char* name;
  /** The backend's own version, free-form ("1.2.0"). */
  const char* version;
  /** DDK_BACKEND_* flags. */
  uint32_t flags;
  /** Backend-global state the plugin may use; the host never touches it. */
  void* user_data;

  /**
   * (optional) Availability and capabilities. NULL means "always
   * available, capabilities unknown". Fills *out_info (whose header the
   * host has set). Returns DDK_OK even when unavailable (available=false).
   */
  ddk_status (*query)(const ddk_backend* self, const ddk_options* options,
                      ddk_backend_info* out_info, char* err, size_t err_cap);

  /**
   * Claims nodes of `graph`: sets out_claimed[i] = true for each node i it
   * will run (out_claimed has graph->num_nodes entries, all false on entry).
   * Claiming is a contract: a claimed node that later fails to preprocess,
   * init or execute is a conformance failure. The host forms acyclic
   * partitions from the claims; a backend that needs a node to be together
   * with another must claim both or neither.
   */
  ddk_status (*partition)(const ddk_backend* self, const ddk_graph_view* graph,
                          const ddk_options* options,
                          const ddk_services* services, bool* out_claimed,
                          char* err, size_t err_cap);

  /**
   * Compiles one partition into a blob. `subgraph` is the partition with its
   * inputs/outputs in the order execute will receive them. The blob must be
   * self-sufficient: init receives the blob, not the graph. The host owns
   * out_blob->data afterwards (allocated with services->allocator).
   */
  ddk_status (*preprocess)(const ddk_backend* self,
                           const ddk_graph_view* subgraph,
                           const ddk_options* options,
                           const ddk_services* services, ddk_blob* out_blob,
                           char* err, size_t err_cap);

  /**
   * Creates an executable handle from a blob. `blob` stays valid until
   * destroy unless the backend sets DDK_BACKEND_BLOB_RELEASABLE. `compat`
   * is the string preprocess wrote; a backend that cannot run this blob
   * (another device revision, a newer format) returns
   * DDK_INCOMPATIBLE_BLOB with a message saying why. `services` stays
   * valid until destroy. Allocates device memory, uploads constants,
   * compiles shaders, records command buffers — anything, so that
   * execute need not allocate.
   */
  ddk_status (*init)(const ddk_backend* self, const void* blob,
                     size_t blob_size, const char* compat,
                     const ddk_options* options, const ddk_services* services,
                     ddk_delegate_handle** out_handle, char* err,
                     size_t err_cap);

  /**
   * Runs the partition. inputs/outputs follow the subgraph's input/output
   * order from preprocess; their sizes are the actual sizes (below the
   * bounds for dynamic dims) and outputs have capacity for the bounds. The
   * backend writes the actual output sizes into outputs[i]->sizes/strides
   * when they differ. Must not modify inputs, must not write outside
   * outputs[i]->data[0..capacity), should not allocate.
   */
  ddk_status (*execute)(ddk_delegate_handle* handle,
                        const ddk_tensor* const* inputs, uint32_t num_inputs,
                        ddk_tensor* const* outputs, uint32_t num_outputs,
                        char* err, size_t err_cap);

  /** Frees everything init made. Never fails. NULL handle is a no-op. */
  void (*destroy)(ddk_delegate_handle* handle);

  /**
   * (optional) Turns per-op profiling events on or off for a handle (the
   * sink's `enabled` flag gives the initial state).
   */
  ddk_status (*set_profiling)(ddk_delegate_handle* handle, bool enabled);

  /**
   * (optional; ABI 1.1) partition, plus which claimed nodes may share a
   * partition. Fills out_claimed as partition does and, for each claimed
   * node i, a label out_group[i] (graph->num_nodes entries, all 0 on
   * entry): the host never puts nodes with different labels into one
   * partition (it may still split one label's nodes to keep partitions
   * acyclic). This is how a backend bounds its partitions (a compiler's
   * command-stream limit, say) or keeps apart what it cannot fuse. A host
   * that has this slot calls it instead of partition; a backend that fills
   * it must still fill partition, for 1.0 hosts.
   */
  ddk_status (*partition_grouped)(const ddk_backend* self,
                                  const ddk_graph_view* graph,
                                  const ddk_options* options,
                                  const ddk_services* services,
                                  bool* out_claimed, uint32_t* out_group,
                                  char* err, size_t err_cap);
};

/**
 * The one symbol a plugin exports. `host_abi_version` is the highest ABI
 * version the host speaks (DDK_ABI_VERSION of the host). The plugin
 * returns its vtable (header.abi_version = the version it was built
 * against, header.struct_size = sizeof its vtable) or DDK_ABI_MISMATCH with
 * a message when it cannot serve that host.
 */
typedef ddk_status (*ddk_backend_entry_fn)(uint32_t host_abi_version,
                                           const ddk_backend** out_backend,
                                           char* err, size_t err_cap);

/** Name of the entry symbol, for dlsym. */
#define DDK_BACKEND_ENTRY_SYMBOL "ddk_backend_entry"

/** Visibility attribute for the entry symbol of a plugin. */
#if defined(_WIN32)
#define DDK_PLUGIN_EXPORT __declspec(dllexport)
#else
#define DDK_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/** Declares the entry symbol in a plugin (define it right after). */
#define DDK_DECLARE_BACKEND_ENTRY()                                        \
  DDK_PLUGIN_EXPORT ddk_status ddk_backend_entry(                          \
      uint32_t host_abi_version, const ddk_backend** out_backend, char* err, \
      size_t err_cap)

/**
 * Writes a formatted-free message into an err buffer: copies `msg`,
 * truncating to fit. Helper for backends; safe with err == NULL.
 */
static inline void ddk_set_error(char* err, size_t err_cap, const char* msg) {
  if (err == NULL || err_cap == 0) return;
  size_t i = 0;
  if (msg != NULL)
    for (; msg[i] != '\0' && i + 1 < err_cap; ++i) err[i] = msg[i];
  err[i] = '\0';
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DDK_DELEGATE_API_H_ */
