/*
 * mcusim_nn.h - the int8 kernels' shared types, requantization primitives and prototypes.
 *
 * Conventions (after CMSIS-NN):
 *   - one public function per file, runtime_c/src/<name>_s8.c, twin of models/ops/<name>.py;
 *   - arguments in one order: op parameters, per-channel quantization, then (dims, data) pairs
 *     for input, filter, bias, output; every kernel returns an mcusim_status;
 *   - legal ranges are stated beside each prototype; outside them the result is unspecified;
 *   - a plain C path always; a DSP path (SMLAD, SXTB16) under MCUSIM_DSP=1, bit-exact with it.
 * Formulas: docs/numerics.md.
 */
#ifndef MCUSIM_NN_H
#define MCUSIM_NN_H

#include <stdint.h>

typedef enum {
    MCUSIM_OK = 0,
    MCUSIM_ARG_ERROR = -1, /* a dimension or parameter outside its legal range */
} mcusim_status;

/* A tensor shape in NHWC order; unused leading dimensions are 1. */
typedef struct {
    int32_t n, h, w, c;
} mcusim_dims;

/* Per-output-channel requantization: out = MultiplyByQuantizedMultiplier(acc, multiplier[c], shift[c]). */
typedef struct {
    const int32_t *multiplier; /* [0, 2^31 - 1]; 0 or >= 2^30 as QuantizeMultiplier makes them */
    const int32_t *shift;      /* [-31, 30] */
} mcusim_per_channel_quant;

/* Parameters of fully_connected. */
typedef struct {
    int32_t input_offset;  /* -input_zero_point: [-127, 128] */
    int32_t output_offset; /* output_zero_point: [-128, 127] */
    int32_t act_min;       /* [-128, act_max] */
    int32_t act_max;       /* [act_min, 127] */
} mcusim_fc_params;

/* Parameters of conv2d. Padding is explicit: pad_h rows above and pad_w columns left of the input;
 * the output dims decide how far the window runs (TFLite SAME puts any extra row/column at the end). */
typedef struct {
    int32_t input_offset;  /* -input_zero_point: [-127, 128] */
    int32_t output_offset; /* output_zero_point: [-128, 127] */
    int32_t stride_h, stride_w;     /* >= 1 */
    int32_t pad_h, pad_w;           /* >= 0 */
    int32_t dilation_h, dilation_w; /* >= 1 */
    int32_t act_min;       /* [-128, act_max] */
    int32_t act_max;       /* [act_min, 127] */
} mcusim_conv_params;

/* Parameters of depthwise_conv2d: a conv's geometry plus the depth multiplier (output channels per
 * input channel). */
typedef struct {
    mcusim_conv_params conv;
    int32_t depth_multiplier; /* >= 1 */
} mcusim_dw_conv_params;

/* Parameters of patch_embed: a conv whose stride equals its kernel (KH x KW) and that has no padding,
 * computed as (KH / sub_h) x (KW / sub_w) sub-kernels accumulated in int32 (MCUFormer's patch-embedding
 * decomposition); sub_h = KH and sub_w = KW is the undecomposed kernel. */
typedef struct {
    int32_t input_offset;  /* -input_zero_point: [-127, 128] */
    int32_t output_offset; /* output_zero_point: [-128, 127] */
    int32_t sub_h, sub_w;  /* >= 1, dividing KH and KW */
    int32_t act_min;       /* [-128, act_max] */
    int32_t act_max;       /* [act_min, 127] */
} mcusim_patch_embed_params;

/* Parameters of the pooling kernels (input and output share scale and zero point, as in TFLite). */
typedef struct {
    int32_t stride_h, stride_w; /* >= 1 */
    int32_t pad_h, pad_w;       /* >= 0 */
    int32_t filter_h, filter_w; /* >= 1 */
    int32_t act_min;            /* [-128, act_max] */
    int32_t act_max;            /* [act_min, 127] */
} mcusim_pool_params;

/* Parameters of softmax, from TFLite's PreprocessSoftmaxScaling (models/ops/softmax.py). */
typedef struct {
    int32_t input_multiplier; /* [2^30, 2^31 - 1] */
    int32_t input_left_shift; /* [0, 30] */
    int32_t diff_min;         /* <= 0: inputs further below the row maximum give 0 (output -128) */
} mcusim_softmax_params;

/* Parameters of add (TFLite's int8 rescaling: both inputs brought to a common scale 2^-left_shift
 * times twice the larger input scale, summed, rescaled to the output). */
typedef struct {
    int32_t input1_offset, input2_offset; /* -zero points: [-127, 128] */
    int32_t output_offset;                /* [-128, 127] */
    int32_t left_shift;                   /* [0, 20]: 20 for int8 */
    int32_t input1_multiplier, input1_shift; /* shifts [-31, 0] */
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} mcusim_add_params;

/* Parameters of mul, out = requant((x1 + o1) * (x2 + o2)) + output_offset, and of batch_matmul
 * (input1 = lhs, input2 = rhs). */
typedef struct {
    int32_t input1_offset, input2_offset;
    int32_t output_offset;
    int32_t output_multiplier, output_shift; /* shift [-31, 30] */
    int32_t act_min, act_max;
} mcusim_mul_params;

/* Parameters of maximum_minimum (inputs and output share one scale and zero point). */
typedef struct {
    int32_t maximum; /* 1: maximum, 0: minimum */
} mcusim_maximum_minimum_params;

/* Affine quantization of one tensor, for quantize and dequantize. */
typedef struct {
    float scale;        /* > 0, finite */
    int32_t zero_point; /* [-128, 127] */
} mcusim_affine_params;

/* Parameters of mean: the multiplier and shift already hold 1 / count (models/ops/mean.py). */
typedef struct {
    int32_t input_offset;  /* -input_zero_point: [-127, 128] */
    int32_t output_offset; /* [-128, 127] */
    int32_t multiplier;    /* [0, 2^31 - 1] */
    int32_t shift;         /* [-31, 30] */
} mcusim_mean_params;

/* Parameters of transpose: output axis k is input axis perm[k] (axes 0 = n .. 3 = c). */
typedef struct {
    int32_t perm[4]; /* a permutation of 0..3 */
} mcusim_transpose_params;

/* Parameters of pad: before[k] elements of value ahead of axis k; the output dims fix the after. */
typedef struct {
    int32_t before[4]; /* >= 0 */
    int32_t value;     /* [-128, 127]: TFLite PAD fills with the zero point */
} mcusim_pad_params;

/* Parameters of slice: the box starts at begin; the output dims are its size. */
typedef struct {
    int32_t begin[4]; /* >= 0, begin[k] + output_dims[k] <= input_dims[k] */
} mcusim_slice_params;

/* Parameters of gather: the index count, then the indices (TFLite GATHER's constant int32 tensor,
 * row-major). */
typedef struct {
    int32_t count;     /* >= 1: output_dims->w */
    int32_t indices[]; /* count values, each in [0, input_dims->w) */
} mcusim_gather_params;

/* Parameters of concatenation: where this call's input lands in the output. */
typedef struct {
    int32_t axis;   /* [0, 3] */
    int32_t offset; /* >= 0: the input starts at this index along the axis */
} mcusim_concat_params;

/* Parameters of layer_norm (models/ops/layer_norm.py computes them from the scales). */
typedef struct {
    int32_t output_offset;   /* [-128, 127] */
    int32_t eps;             /* eps * C^2 / input_scale^2, rounded: >= 0 */
    int32_t scale_bits;      /* k in [0, 15], 255 * C * 2^k < 2^31: n is held as n * 2^k in int16 */
    int32_t sqrt_iterations; /* 0: exact floor square root; >= 1: that many Newton steps */
} mcusim_layer_norm_params;

/* Parameters of gelu_sigmoid (models/ops/gelu_sigmoid.py computes them from the scales). */
typedef struct {
    int32_t input_offset;                     /* -input_zero_point: [-127, 128] */
    int32_t output_offset;                    /* [-128, 127] */
    int32_t input_multiplier, input_shift;    /* 1.702 s_in 2^26 = M 2^L / 2^31; L in [0, 31] */
    int32_t output_multiplier, output_shift;  /* QM(s_in / s_out 2^-23); shift in [-31, 0] */
} mcusim_gelu_sigmoid_params;

/* ---- requantization primitives (TFLite, double rounding); twins of models/quant.py ---- */

/* round(a * b / 2^31), halves rounded up, the one overflow (INT32_MIN * INT32_MIN) saturating to
 * INT32_MAX. TFLite writes it (ab + (ab >= 0 ? 2^30 : 1 - 2^30)) / 2^31 with C's truncating division;
 * floor((ab + 2^30) / 2^31) is the same number for every ab (for ab = -m < 0 both are
 * -floor((m - 1 + 2^30) / 2^31)) and costs one multiply-accumulate and a shift (CMSIS-NN's form).
 * >> of a negative int64 is arithmetic in GCC and Clang. */
static inline int32_t mcusim_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * b + (1ll << 30)) >> 31);
}

/* x / 2^exponent rounded half away from zero; exponent in [0, 31]. */
static inline int32_t mcusim_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier; shift in [-31, 30]. x * 2^shift wraps as two's complement
 * (done in uint32 so that it is defined C). */
static inline int32_t mcusim_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    int32_t left = shift > 0 ? shift : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    int32_t scaled = (int32_t)((uint32_t)x << left);
    return mcusim_rounding_divide_by_pot(mcusim_srdhm(scaled, multiplier), right);
}

/* a + b wrapping as two's complement (TFLite adds the output offset in plain int32). */
static inline int32_t mcusim_add_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* x clamped to [lo, hi], lo <= hi; two selects (no branch on the cores). */
static inline int32_t mcusim_clamp(int32_t x, int32_t lo, int32_t hi)
{
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}

/* ---- kernels ---- */

/*
 * Scratch memory. A kernel that needs working memory takes it on the stack (where the measurement
 * sees it: the stack is painted before each call) and states how much: mcusim_<kernel>_scratch_size,
 * declared after the kernel, takes the kernel's own arguments (the data pointers are not read) and
 * returns the bytes of its arrays for arguments the kernel accepts. Its twin is the op module's
 * scratch function (models/ops: OpDef.scratch). Kernels without one take no scratch.
 */
#define MCUSIM_WEIGHTED_ARGS(params_type)                                                                  \
    const params_type *params, const mcusim_per_channel_quant *quant, const mcusim_dims *input_dims,     \
        const int8_t *input, const mcusim_dims *filter_dims, const int8_t *filter, const int32_t *bias, \
        const mcusim_dims *output_dims, int8_t *output
#define MCUSIM_UNARY_ARGS(params_type) \
    const params_type *params, const mcusim_dims *input_dims, const int8_t *input, const mcusim_dims *output_dims, \
        int8_t *output
#define MCUSIM_BINARY_ARGS(params_type)                                                                        \
    const params_type *params, const mcusim_dims *input1_dims, const int8_t *input1,                          \
        const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims, int8_t *output

/*
 * output[b][o] = clamp(requant(bias[o] + sum_k (input[b][k] + input_offset) * filter[o][k],
 *                              quant.multiplier[o], quant.shift[o]) + output_offset, act_min, act_max)
 * input_dims:  n = batches (>= 1), h = w = 1, c = K (accumulation depth, [1, 65535])
 * filter_dims: n = O (output channels, >= 1), h = w = 1, c = K; filter values [-127, 127]
 * bias: O int32 values or NULL (zeros); |bias| + K * 255 * 127 must stay below 2^31
 * output_dims: n = batches, h = w = 1, c = O
 */
mcusim_status mcusim_fully_connected_s8(const mcusim_fc_params *params, const mcusim_per_channel_quant *quant,
                                        const mcusim_dims *input_dims, const int8_t *input,
                                        const mcusim_dims *filter_dims, const int8_t *filter,
                                        const int32_t *bias, const mcusim_dims *output_dims, int8_t *output);

/*
 * fully_connected with token overwriting: the same bits, computed in place. output must equal input:
 * a buffer of n * max(K, O) bytes that holds the [n, K] input densely on entry and the [n, O] output
 * densely on return. O <= MCUSIM_INPLACE_MAX_CHANNELS; a stack block of up to 8 tokens' outputs, at
 * most max(2048, O) bytes (mcusim_fully_connected_inplace_s8_scratch_size); ranges otherwise as above.
 */
#define MCUSIM_INPLACE_MAX_CHANNELS 1024
mcusim_status mcusim_fully_connected_inplace_s8(const mcusim_fc_params *params, const mcusim_per_channel_quant *quant,
                                                const mcusim_dims *input_dims, const int8_t *input,
                                                const mcusim_dims *filter_dims, const int8_t *filter,
                                                const int32_t *bias, const mcusim_dims *output_dims, int8_t *output);
int32_t mcusim_fully_connected_inplace_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_fc_params));

/*
 * output[n][y][x][o] = clamp(requant(bias[o] + sum_{ky,kx,c} (in(n, y*sh - ph + ky*dh, x*sw - pw + kx*dw, c)
 *                            + input_offset) * filter[o][ky][kx][c], quant.multiplier[o], quant.shift[o])
 *                            + output_offset, act_min, act_max); taps outside the input are skipped
 *                            (the same as padding with the input zero point).
 * input_dims:  N x H x W x C (all >= 1);   filter_dims: O x KH x KW x C (filter values [-127, 127])
 * output_dims: N x OH x OW x O;            bias: O int32 values or NULL; the accumulator fits int32
 *              (|bias| + KH * KW * C * 255 * 127 < 2^31).
 * Up to MCUSIM_CONV_MAX_COLUMN taps (KH * KW * C) a convolution that is not pointwise runs by im2col
 * with 2 * KH * KW * C + 128 bytes of stack (mcusim_conv2d_s8_scratch_size); beyond, directly.
 */
#define MCUSIM_CONV_MAX_COLUMN 4096
mcusim_status mcusim_conv2d_s8(const mcusim_conv_params *params, const mcusim_per_channel_quant *quant,
                               const mcusim_dims *input_dims, const int8_t *input,
                               const mcusim_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, const mcusim_dims *output_dims, int8_t *output);
int32_t mcusim_conv2d_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_conv_params));
/* conv2d without scratch: the contract above, computed directly (no im2col columns). */
mcusim_status mcusim_conv2d_direct_s8(MCUSIM_WEIGHTED_ARGS(mcusim_conv_params));

/*
 * patch_embed: conv2d with stride (KH, KW), no padding and no dilation, the same bits. Each output pixel
 * runs its patch as sub-kernels of sub_h x sub_w: the sub-window is widened once to int16 with the input
 * offset (a column of sub_h * sub_w * C values), then every output channel adds its dot product with it
 * to an int32 partial sum, requantized after the last sub-kernel.
 * Stack: the column (2 * sub_h * sub_w * C bytes) plus, when decomposed, the partial sums (4 * O bytes).
 * input_dims:  N x H x W x C (all >= 1); rows and columns beyond OH * KH and OW * KW are not read
 * filter_dims: O x KH x KW x C (filter values [-127, 127]);   output_dims: N x (H / KH) x (W / KW) x O
 * sub_h * sub_w * C <= MCUSIM_PATCH_MAX_COLUMN;   O <= MCUSIM_PATCH_MAX_CHANNELS;   bias and the
 * accumulator as for conv2d.
 */
#define MCUSIM_PATCH_MAX_COLUMN 2048
#define MCUSIM_PATCH_MAX_CHANNELS 1024
mcusim_status mcusim_patch_embed_s8(const mcusim_patch_embed_params *params, const mcusim_per_channel_quant *quant,
                                    const mcusim_dims *input_dims, const int8_t *input,
                                    const mcusim_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const mcusim_dims *output_dims, int8_t *output);
int32_t mcusim_patch_embed_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_patch_embed_params));

/*
 * Depthwise: output channel o = c * depth_multiplier + m reads input channel c only.
 * output[n][y][x][o] = clamp(requant(bias[o] + sum_{ky,kx} (in(n, y*sh - ph + ky*dh, x*sw - pw + kx*dw, o / M)
 *                            + input_offset) * filter[0][ky][kx][o], ...) + output_offset, act_min, act_max)
 * input_dims: N x H x W x C;   filter_dims: 1 x KH x KW x (C * M);   output_dims: N x OH x OW x (C * M)
 * bias: C * M int32 values or NULL; quantization per output channel; ranges as for conv2d.
 */
mcusim_status mcusim_depthwise_conv2d_s8(const mcusim_dw_conv_params *params, const mcusim_per_channel_quant *quant,
                                         const mcusim_dims *input_dims, const int8_t *input,
                                         const mcusim_dims *filter_dims, const int8_t *filter,
                                         const int32_t *bias, const mcusim_dims *output_dims, int8_t *output);

/*
 * depthwise_conv2d in place: the same bits, the output written over the input. output must equal
 * input; depth multiplier 1; output dims equal the input dims (N x H x W x C: stride 1 with SAME
 * padding, or any geometry that keeps the size); H * W <= MCUSIM_INPLACE_MAX_PLANE (a stack plane of
 * H * W bytes); ranges otherwise as for depthwise_conv2d.
 */
#define MCUSIM_INPLACE_MAX_PLANE 4096
mcusim_status mcusim_depthwise_conv2d_inplace_s8(const mcusim_dw_conv_params *params,
                                                 const mcusim_per_channel_quant *quant, const mcusim_dims *input_dims,
                                                 const int8_t *input, const mcusim_dims *filter_dims,
                                                 const int8_t *filter, const int32_t *bias,
                                                 const mcusim_dims *output_dims, int8_t *output);
int32_t mcusim_depthwise_conv2d_inplace_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_dw_conv_params));

/*
 * Sparse weights: block run-length encoding (TinyFormer's SparseEngine; models/sparse.py). The filter
 * is R rows (output channels) of K values cut into K / block blocks; the stream keeps the blocks that
 * hold a non-zero value, row-major, each as one uint8 gap (all-zero blocks skipped since the previous
 * stored block, counted across row ends) and then its `block` int8 values. A gap over 255 is bridged
 * by stored zero blocks with gap 255. The kernels compute on the stream itself (nothing is decoded into
 * SRAM) and equal the dense kernels on the decoded filter, bit for bit. The stream is checked before
 * any output is written: stored blocks must end inside the R * K / block positions.
 */
#define MCUSIM_SPARSE_MAX_BLOCK 16
typedef struct {
    int32_t block;  /* values per block: [1, MCUSIM_SPARSE_MAX_BLOCK], dividing the row length K */
    int32_t blocks; /* stored blocks in the stream (padding blocks included): >= 0 */
} mcusim_sparse_weights;

typedef struct {
    mcusim_fc_params fc;
    mcusim_sparse_weights sparse;
} mcusim_sparse_fc_params;

typedef struct {
    mcusim_conv_params conv;
    mcusim_sparse_weights sparse;
} mcusim_sparse_conv_params;

typedef struct {
    mcusim_dw_conv_params dw;
    mcusim_sparse_weights sparse;
} mcusim_sparse_dw_conv_params;

/*
 * fully_connected on a sparse filter: rows = O, K = the input depth. Dims, ranges and result as for
 * fully_connected_s8; filter_dims give the dense [O, K] shape, `filter` is the stream.
 */
mcusim_status mcusim_sparse_fully_connected_s8(const mcusim_sparse_fc_params *params,
                                               const mcusim_per_channel_quant *quant, const mcusim_dims *input_dims,
                                               const int8_t *input, const mcusim_dims *filter_dims,
                                               const int8_t *filter, const int32_t *bias,
                                               const mcusim_dims *output_dims, int8_t *output);

/*
 * conv2d on a sparse filter: rows = O, K = KH * KW * C in (ky, kx, c) order (TinyFormer's blocks run
 * along input channels). Each output pixel gathers its window into a stack column of KH * KW * C bytes
 * (taps outside the input hold -input_offset, adding nothing), then walks the stream once.
 * KH * KW * C <= MCUSIM_SPARSE_MAX_COLUMN; dims, ranges and result as for conv2d_s8.
 */
#define MCUSIM_SPARSE_MAX_COLUMN 4096
mcusim_status mcusim_sparse_conv2d_s8(const mcusim_sparse_conv_params *params, const mcusim_per_channel_quant *quant,
                                      const mcusim_dims *input_dims, const int8_t *input,
                                      const mcusim_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                      const mcusim_dims *output_dims, int8_t *output);
int32_t mcusim_sparse_conv2d_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_sparse_conv_params));

/*
 * depthwise_conv2d on a sparse filter: rows = C * M output channels, K = KH * KW in (ky, kx) order
 * (TinyFormer's blocks of 3 run along a 3-wide kernel's rows). Each output pixel gathers its window
 * channel by channel into a stack column of C * KH * KW bytes, then walks the stream once.
 * C * KH * KW <= MCUSIM_SPARSE_MAX_COLUMN; dims, ranges and result as for depthwise_conv2d_s8.
 */
mcusim_status mcusim_sparse_depthwise_conv2d_s8(const mcusim_sparse_dw_conv_params *params,
                                                const mcusim_per_channel_quant *quant, const mcusim_dims *input_dims,
                                                const int8_t *input, const mcusim_dims *filter_dims,
                                                const int8_t *filter, const int32_t *bias,
                                                const mcusim_dims *output_dims, int8_t *output);
int32_t mcusim_sparse_depthwise_conv2d_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_sparse_dw_conv_params));

/*
 * Pooling over the window of output pixel (y, x): rows y*sh - ph .. + filter_h - 1, columns alike,
 * only the taps inside the input (padding is ignored, never averaged in).
 * avg: sum / count rounded half away from zero (count = taps inside), then clamp to the activation
 * range; max: the largest tap, clamped. Every window must hold at least one tap inside the input.
 * input_dims: N x H x W x C;  output_dims: N x OH x OW x C.
 */
mcusim_status mcusim_avg_pool2d_s8(const mcusim_pool_params *params, const mcusim_dims *input_dims,
                                   const int8_t *input, const mcusim_dims *output_dims, int8_t *output);
mcusim_status mcusim_max_pool2d_s8(const mcusim_pool_params *params, const mcusim_dims *input_dims,
                                   const int8_t *input, const mcusim_dims *output_dims, int8_t *output);

/*
 * Softmax over the last axis (input_dims->c = depth, [1, 2048]; rows = n * h * w), bit-exact with
 * TFLite's int8 reference (gemmlowp fixed point: Q5.26 scaled differences, exp_on_negative_values,
 * a Q12.19 sum, its reciprocal by Newton-Raphson). The output has scale 1/256, zero point -128.
 */
mcusim_status mcusim_softmax_s8(const mcusim_softmax_params *params, const mcusim_dims *input_dims,
                                const int8_t *input, const mcusim_dims *output_dims, int8_t *output);
/* The same bits as mcusim_softmax_s8, exp looked up in a table filled lazily per call (TinyFormer);
 * same legal ranges; 1056 bytes more stack. */
mcusim_status mcusim_softmax_lut_s8(const mcusim_softmax_params *params, const mcusim_dims *input_dims,
                                    const int8_t *input, const mcusim_dims *output_dims, int8_t *output);
int32_t mcusim_softmax_lut_s8_scratch_size(MCUSIM_UNARY_ARGS(mcusim_softmax_params));

/*
 * Elementwise binary ops with TFLite's broadcasting. Along each axis an input's dim is the output's or
 * 1 (broadcast: the input's element repeats); an output dim above 1 is at least one input's; dims >= 1.
 * add:  v_i = requant((x_i + input_i_offset) << left_shift, input_i_multiplier, input_i_shift) (shifts <= 0);
 *       out = clamp(requant(v_1 + v_2, output_multiplier, output_shift) + output_offset, act_min, act_max)
 * sub:  the same with v_1 - v_2.
 * squared_difference: the same v_i with left_shift 7, d = v_1 - v_2,
 *       out = clamp(requant(d * d, output_multiplier, output_shift) + output_offset, act_min, act_max);
 *       multipliers in [0, 2^31 - 1], input offsets in [-127, 128], output_shift in [-31, 30].
 * mul:  out = clamp(requant((x1 + o1) * (x2 + o2), output_multiplier, output_shift) + output_offset, ...)
 * maximum_minimum: out = max(x1, x2) (params->maximum = 1) or min(x1, x2) (0), the int8 values.
 */
mcusim_status mcusim_add_s8(const mcusim_add_params *params, const mcusim_dims *input1_dims, const int8_t *input1,
                            const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims,
                            int8_t *output);
mcusim_status mcusim_sub_s8(const mcusim_add_params *params, const mcusim_dims *input1_dims, const int8_t *input1,
                            const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims,
                            int8_t *output);
mcusim_status mcusim_squared_difference_s8(const mcusim_add_params *params, const mcusim_dims *input1_dims,
                                           const int8_t *input1, const mcusim_dims *input2_dims,
                                           const int8_t *input2, const mcusim_dims *output_dims, int8_t *output);
mcusim_status mcusim_maximum_minimum_s8(const mcusim_maximum_minimum_params *params, const mcusim_dims *input1_dims,
                                        const int8_t *input1, const mcusim_dims *input2_dims, const int8_t *input2,
                                        const mcusim_dims *output_dims, int8_t *output);
mcusim_status mcusim_mul_s8(const mcusim_mul_params *params, const mcusim_dims *input1_dims, const int8_t *input1,
                            const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims,
                            int8_t *output);

/*
 * The graph edges, as TFLite: quantize q = clamp(roundf(x / scale) + zero_point, -128, 127) in float32
 * (roundf: halves away from zero); dequantize x = (float)((double)scale * (q - zero_point)).
 * dims: any shape of >= 1 elements; input and output hold the same number of elements; inputs
 * finite. Where
 * x / scale does not fit int32 TFLite's conversion is undefined; quantize saturates.
 */
mcusim_status mcusim_quantize_s8(const mcusim_affine_params *params, const mcusim_dims *input_dims,
                                 const float *input, const mcusim_dims *output_dims, int8_t *output);
mcusim_status mcusim_dequantize_s8(const mcusim_affine_params *params, const mcusim_dims *input_dims,
                                   const int8_t *input, const mcusim_dims *output_dims, float *output);

/*
 * out[i][j][m][n] = clamp(requant(sum_k (lhs[i'][j'][m][k] + input1_offset) * (rhs[i"][j"][n][k] + input2_offset))
 *                         + output_offset, act_min, act_max)
 * The right-hand side is given transposed ([.., N, K], TFLite's adj_y), so both operands are read
 * along K. Two batch axes, n and h (output_dims: n, h >= 1, w = M, c = N), broadcast as TFLite's: each
 * operand's n (h) equals the output's or is 1, and i' = i where lhs has the output's n, else 0 (alike
 * for j', i", j"). lhs_dims: w = M, c = K; rhs_dims: w = N, c = K; K in [1, 32767]; output_multiplier
 * in [0, 2^31 - 1] (as QuantizeMultiplier makes it).
 */
mcusim_status mcusim_batch_matmul_s8(const mcusim_mul_params *params, const mcusim_dims *lhs_dims, const int8_t *lhs,
                                     const mcusim_dims *rhs_dims, const int8_t *rhs, const mcusim_dims *output_dims,
                                     int8_t *output);
int32_t mcusim_batch_matmul_s8_scratch_size(MCUSIM_BINARY_ARGS(mcusim_mul_params));

/*
 * out[o] = clamp(requant(sum_{i in span(o)} (in[i] + input_offset), multiplier, shift) + output_offset, -128, 127)
 * Each output dim equals the input dim (kept) or is 1 (reduced: span(o) runs over the whole axis);
 * count = the product of the reduced input dims, [1, 2^23]. Dims >= 1.
 */
mcusim_status mcusim_mean_s8(const mcusim_mean_params *params, const mcusim_dims *input_dims, const int8_t *input,
                             const mcusim_dims *output_dims, int8_t *output);

/*
 * Data movement (no arithmetic; input and output share scale and zero point); dims >= 1.
 * transpose:     out[o_0, o_1, o_2, o_3] = in[i] with i[perm[k]] = o_k; output_dims[k] = input_dims[perm[k]].
 * pad:           out[o] = in[o - before] where that lies inside the input, else value;
 *                output_dims[k] >= input_dims[k] + before[k].
 * concatenation: out[.., offset + j, ..] = in[.., j, ..] along axis; the other dims equal the
 *                output's; offset + input_dims[axis] <= output_dims[axis]. One call per input.
 * slice:         out[o] = in[begin + o] (unit stride).
 * gather:        out[a][i][b] = in[a][indices[i]][b], a over n * h, b over c: input_dims (n, h, w, c) with
 *                w the gathered axis; output_dims (n, h, count, c); n * h * w * c and n * h * count * c
 *                below 2^31.
 */
mcusim_status mcusim_transpose_s8(const mcusim_transpose_params *params, const mcusim_dims *input_dims,
                                  const int8_t *input, const mcusim_dims *output_dims, int8_t *output);
mcusim_status mcusim_pad_s8(const mcusim_pad_params *params, const mcusim_dims *input_dims, const int8_t *input,
                            const mcusim_dims *output_dims, int8_t *output);
mcusim_status mcusim_concatenation_s8(const mcusim_concat_params *params, const mcusim_dims *input_dims,
                                      const int8_t *input, const mcusim_dims *output_dims, int8_t *output);
mcusim_status mcusim_slice_s8(const mcusim_slice_params *params, const mcusim_dims *input_dims, const int8_t *input,
                              const mcusim_dims *output_dims, int8_t *output);
mcusim_status mcusim_gather_s8(const mcusim_gather_params *params, const mcusim_dims *input_dims, const int8_t *input,
                               const mcusim_dims *output_dims, int8_t *output);

/*
 * out[i] = table[(uint8_t)in[i]]: table has 256 entries indexed by the input's two's complement byte
 * (entry 0 for input 0, entry 255 for input -1). Input and output hold the same number (>= 1) of elements.
 */
mcusim_status mcusim_lookup_s8(const int8_t *table, const mcusim_dims *input_dims, const int8_t *input,
                               const mcusim_dims *output_dims, int8_t *output);

/*
 * LayerNorm over the channels of each token (input zero point irrelevant: the mean removes it):
 *   S = sum_c x[c];  Q = max(C * sum_c x[c]^2 - S^2 + eps, 1);  r = isqrt(Q) (see sqrt_iterations)
 *   n[c] = clamp(round_half_away((C * x[c] - S) * 2^k / r), -32768, 32767)
 *   out[c] = clamp(requant(n[c] * gamma[c] + beta[c], quant.multiplier[c], quant.shift[c]) + output_offset,
 *                  -128, 127)
 * input_dims: tokens = n * h * w, c = C in [1, 4096]; gamma_dims: C elements, c = C; beta: C int32
 * values (scale gamma_scale[c] * 2^-k) or NULL; output_dims: like the input.
 */
mcusim_status mcusim_layer_norm_s8(const mcusim_layer_norm_params *params, const mcusim_per_channel_quant *quant,
                                   const mcusim_dims *input_dims, const int8_t *input, const mcusim_dims *gamma_dims,
                                   const int8_t *gamma, const int32_t *beta, const mcusim_dims *output_dims,
                                   int8_t *output);

/*
 * MCUFormer's integer GELU, x * sigmoid(1.702 x), elementwise, no float:
 *   v = x + input_offset;  a = sat32(round(v * input_multiplier / 2^(31 - input_shift)))   (Q5.26)
 *   p = round(v * logistic(a) / 2^8)                                                       (Q23)
 *   out = clamp(requant(p, output_multiplier, output_shift) + output_offset, -128, 127)
 * round: halves away from zero; logistic: gemmlowp's, Q5.26 -> Q0.31. Dims: equal counts >= 1.
 */
mcusim_status mcusim_gelu_sigmoid_s8(const mcusim_gelu_sigmoid_params *params, const mcusim_dims *input_dims,
                                     const int8_t *input, const mcusim_dims *output_dims, int8_t *output);

/* ---- the kernel list ---- */

/* Every kernel above, as X(id, name, family) for mcusim_<name>_s8: the ids a model blob calls
 * (mcusim_graph.h). The families fix the argument count: WEIGHTED 9 (params, quant, input, filter,
 * bias, output), UNARY 5 (params, input, output), BINARY 7 (params, input1, input2, output); dims
 * precede each tensor. The host reads this list from this header (models/blob.py), so ids are
 * defined once; a new kernel is its prototype above and its line here. */
#define MCUSIM_KERNELS(X)                  \
    X(1, fully_connected, WEIGHTED)      \
    X(2, fully_connected_inplace, WEIGHTED) \
    X(3, conv2d, WEIGHTED)               \
    X(4, depthwise_conv2d, WEIGHTED)     \
    X(5, patch_embed, WEIGHTED)          \
    X(6, layer_norm, WEIGHTED)           \
    X(7, avg_pool2d, UNARY)              \
    X(8, max_pool2d, UNARY)              \
    X(9, softmax, UNARY)                 \
    X(10, softmax_lut, UNARY)            \
    X(11, quantize, UNARY)               \
    X(12, dequantize, UNARY)             \
    X(13, mean, UNARY)                   \
    X(14, transpose, UNARY)              \
    X(15, pad, UNARY)                    \
    X(16, concatenation, UNARY)          \
    X(17, slice, UNARY)                  \
    X(18, lookup, UNARY)                 \
    X(19, gelu_sigmoid, UNARY)           \
    X(20, add, BINARY)                   \
    X(21, mul, BINARY)                   \
    X(22, batch_matmul, BINARY)          \
    X(23, depthwise_conv2d_inplace, WEIGHTED) \
    X(24, sparse_fully_connected, WEIGHTED) \
    X(25, sparse_conv2d, WEIGHTED)        \
    X(26, sparse_depthwise_conv2d, WEIGHTED) \
    X(27, conv2d_direct, WEIGHTED) \
    X(28, sub, BINARY)                   \
    X(29, squared_difference, BINARY)    \
    X(30, maximum_minimum, BINARY)       \
    X(32, gather, UNARY)

#endif /* MCUSIM_NN_H */
