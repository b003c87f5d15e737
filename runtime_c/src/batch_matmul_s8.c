/*
 * mcusim_batch_matmul_s8: int8 batched matrix product with both operands' zero points, as TFLite's
 * BATCH_MATMUL (adj_y) with its batch broadcasting over two batch axes (n, h). Contract:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/batch_matmul.py.
 *
 * sum_k (a + oa)(b + ob) = sum_k a b + ob sum_k a + oa sum_k b + K oa ob: the raw dot products run
 * through the 2 x 2 core (mcusim_dot_2x2_s8: two lhs rows x two rhs rows, each word widened once for
 * both; SMLAD under MCUSIM_DSP), started at the row's and the column's shares. The lhs rows' shares
 * are taken for a block of up to MCUSIM_BMM_ROWS rows at a time (a stack array of int32), each rhs
 * row's once per block. An odd last row or column takes the 1 x 2 core or the plain dot product with
 * the lhs offset applied. An operand whose n (h) is 1 where the output's is not is read again for
 * every output batch along that axis (batch stride 0).
 */
#include "mcusim_nn_support.h"

#define MCUSIM_BMM_ROWS 32 /* lhs rows per block: 128 bytes of stack */

/* The output stage: the call's one requantization, prepared once, the offset, the clamp. */
typedef struct {
    mcusim_requant q;
    int32_t offset, lo, hi;
} output_stage;

/* An operand's batch dim against the output's: equal, or 1 (broadcast). */
static inline int batch_dim_ok(int32_t dim, int32_t out)
{
    return dim == out || dim == 1;
}

static inline int8_t output_s8(const output_stage *s, int32_t acc)
{
    return (int8_t)mcusim_clamp(mcusim_add_wrap(mcusim_requant_apply(&s->q, acc), s->offset), s->lo, s->hi);
}

mcusim_status mcusim_batch_matmul_s8(const mcusim_mul_params *params, const mcusim_dims *lhs_dims, const int8_t *lhs,
                                     const mcusim_dims *rhs_dims, const int8_t *rhs, const mcusim_dims *output_dims,
                                     int8_t *output)
{
    const int32_t rows = lhs_dims->w, depth = lhs_dims->c, cols = rhs_dims->w;
    const int32_t batch_n = output_dims->n, batch_h = output_dims->h;
    if (batch_n < 1 || batch_h < 1 || rows < 1 || depth < 1 || depth > 32767 || cols < 1 ||
        !batch_dim_ok(lhs_dims->n, batch_n) || !batch_dim_ok(lhs_dims->h, batch_h) ||
        !batch_dim_ok(rhs_dims->n, batch_n) || !batch_dim_ok(rhs_dims->h, batch_h) ||
        rhs_dims->c != depth || output_dims->w != rows || output_dims->c != cols || params->act_min > params->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    /* each operand's batch strides, in matrices: 0 along an axis it broadcasts */
    const int32_t lhs_sh = lhs_dims->h > 1, lhs_sn = lhs_dims->n > 1 ? lhs_dims->h : 0;
    const int32_t rhs_sh = rhs_dims->h > 1, rhs_sn = rhs_dims->n > 1 ? rhs_dims->h : 0;
    const int32_t oa = params->input1_offset, ob = params->input2_offset;
    const output_stage stage = {mcusim_requant_of(params->output_multiplier, params->output_shift),
                                params->output_offset, params->act_min, params->act_max};
    int32_t row_share[MCUSIM_BMM_ROWS]; /* ob * sum_k (a + oa) of the block's lhs rows */
    for (int32_t b = 0; b < batch_n * batch_h; b++) {
        const int32_t bn = b / batch_h, bh = b % batch_h;
        const int8_t *r = rhs + (bn * rhs_sn + bh * rhs_sh) * cols * depth;
        const int8_t *a_batch = lhs + (bn * lhs_sn + bh * lhs_sh) * rows * depth;
        for (int32_t m0 = 0; m0 < rows; m0 += MCUSIM_BMM_ROWS) {
            const int32_t block = rows - m0 < MCUSIM_BMM_ROWS ? rows - m0 : MCUSIM_BMM_ROWS;
            const int8_t *a = a_batch + m0 * depth;
            int8_t *out = output + (b * rows + m0) * cols;
            for (int32_t m = 0; m < block; m++) {
                row_share[m] = ob * (mcusim_sum_s8(a + m * depth, depth) + depth * oa);
            }
            int32_t n = 0;
            for (; n + 2 <= cols; n += 2) {
                const int8_t *w = r + n * depth;
                const int32_t s0 = oa * mcusim_sum_s8(w, depth), s1 = oa * mcusim_sum_s8(w + depth, depth);
                int32_t m = 0;
                for (; m + 2 <= block; m += 2) {
                    /* wrapping adds: a row's and a column's shares together may leave int32, the whole sum not */
                    int32_t acc[4] = {mcusim_add_wrap(row_share[m], s0), mcusim_add_wrap(row_share[m], s1),
                                      mcusim_add_wrap(row_share[m + 1], s0), mcusim_add_wrap(row_share[m + 1], s1)};
                    mcusim_dot_2x2_s8(a + m * depth, w, depth, depth, acc);
                    const int8_t y0 = output_s8(&stage, acc[0]), y1 = output_s8(&stage, acc[1]);
                    const int8_t y2 = output_s8(&stage, acc[2]), y3 = output_s8(&stage, acc[3]);
                    int8_t *y = out + m * cols + n; /* the stores last: the stage's parameters loaded once */
                    y[0] = y0, y[1] = y1, y[cols] = y2, y[cols + 1] = y3;
                }
                if (m < block) {
                    int32_t acc[2] = {row_share[m], row_share[m]};
                    mcusim_dot_1x2_s8(a + m * depth, w, depth, depth, oa, acc);
                    out[m * cols + n] = output_s8(&stage, acc[0]);
                    out[m * cols + n + 1] = output_s8(&stage, acc[1]);
                }
            }
            for (; n < cols; n++) {
                for (int32_t m = 0; m < block; m++) {
                    out[m * cols + n] =
                        output_s8(&stage, mcusim_dot_s8(a + m * depth, r + n * depth, depth, oa, row_share[m]));
                }
            }
        }
    }
    return MCUSIM_OK;
}

int32_t mcusim_batch_matmul_s8_scratch_size(MCUSIM_BINARY_ARGS(mcusim_mul_params))
{
    return 4 * MCUSIM_BMM_ROWS; /* the row shares */
}
