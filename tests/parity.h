/* Shared state and helpers of the parity test (test-parity.c): one pt_case per fixture, with the
 * calls that load its tensors into mrigan, compare mrigan's results with the references and record
 * the first failure.
 *
 * Error measure. For each compared tensor: max |got - ref| / scale with scale = max |ref| over the
 * tensor (1 if the reference is all zeros). This is stricter than max(1, max |ref|) for the many
 * tensors smaller than 1 (gradients of mean-reduced losses are ~1e-2), so small tensors are checked
 * relative to their own size. Adam parameters use scale = max |p_ref - p0| instead (see adam).
 *
 * Tolerances. The references are computed in float64 from the float32 inputs, so they carry no
 * float32 rounding of their own; PyTorch's own float32 results are within 4e-7 of them for every op
 * case, within 8e-7 for the whole U-Net, within 1.3e-6 for the reference's networks and their
 * gradients (net_*) and within 1e-6 for the losses of the training step (gen-fixtures.py prints this
 * per case as f32err).
 *   PT_TOL_OP   1e-4  all op cases, instance norm, the U-Net and the networks (gradients of biases
 *                     that the instance norm makes zero: see parity-nets.c), the losses and gradient
 *                     fingerprints of the training step (parity-step.c): two orders of magnitude
 *                     above float32 rounding of sums of up to ~400 terms (conv 7x7x3 forward, weight
 *                     gradients over N*H*W) and of the instance-norm statistics, so any summation
 *                     order passes while a wrong index, tap or factor does not.
 *   PT_TOL_ADAM 1e-3  of the largest displacement p - p0: one step moves a parameter by about lr
 *                     (2e-4), so an error measured against |p| would be meaningless; the float32
 *                     rounding of p itself (|p| < 0.4, half an ulp = 1.5e-8 per step) is ~1e-4 of
 *                     the displacement, PyTorch's float32 Adam is 3.4e-5 from the reference, and an
 *                     error of 0.1% in the update (e.g. eps placed inside the square root, a wrong
 *                     bias correction) is caught. The moments use PT_TOL_OP.
 *   PT_TOL_STEP 2e-3  of the displacement, for the weights after two CycleGAN training steps
 *                     (parity-step.c). Adam divides each element's step by that element's own
 *                     gradient size, so an element whose gradient is 1e3 times smaller than the
 *                     largest in its tensor carries a rounding error, relative to its step, 1e3
 *                     times larger than the gradient's own error relative to the tensor, and more
 *                     where g1 and g2 of the two steps nearly cancel in the first moment. On the
 *                     fixture mrigan is at 4.2e-4 of the displacement and PyTorch's own float32
 *                     step at 7.3e-4 (8.9e-4 with another seed), which leaves 1e-3 no room for
 *                     another summation order. An element whose gradient has the wrong sign or
 *                     misses a loss term moves by ~lr the wrong way, O(1) of the displacement; the
 *                     gradients themselves are checked at PT_TOL_OP through their fingerprints.
 */
#ifndef MRIGAN_TESTS_PARITY_H
#define MRIGAN_TESTS_PARITY_H

#include <stdbool.h>

#include <mrigan/mrigan.h>
#include <mrigan/nets.h>

#include "fixture.h"

#define PT_TOL_OP     1e-4
#define PT_TOL_ADAM   1e-3
#define PT_TOL_STEP   2e-3
#define PT_MAX_PARAMS 24

typedef struct pt_case {
    const char *name;
    int op; /* variant within a runner (pt_op) */
    const mgfx *fx;
    mg_backend *be;
    double tol;
    double maxerr;
    int failed;
    char why[512]; /* first failure */
    bool *used;    /* fixture tensors consumed, one per fx->tensors[i] */
    mg_tensor *params[PT_MAX_PARAMS];
    int n_params;
} pt_case;

/* A gradient to check: the fixture tensor name against the gradient of t (nothing if t is NULL). */
typedef struct pt_grad {
    const char *name;
    const mg_tensor *t;
} pt_grad;

/* Prints "# <case>: <message>", keeps the first message as the reason and marks the case failed. */
void case_fail(pt_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* false (and the case fails) unless s is MG_OK. */
bool case_check_status(pt_case *c, mg_status s, const char *what);
/* false (and the case fails) if an op chain returned NULL or the graph has failed. */
bool case_check_graph(pt_case *c, mg_graph *g, const mg_tensor *y, const char *what);
/* Fixture tensor name, marked as used; NULL (and the case fails) if absent. */
const mgfx_tensor *case_need(pt_case *c, const char *name);
bool case_has(const pt_case *c, const char *name);
/* params[i] of the fixture as a float or a rounded int; false if absent. */
bool case_param_f(pt_case *c, int i, float *out);
bool case_param_i(pt_case *c, int i, int *out);
/* A graph-owned input holding fixture tensor name. */
mg_tensor *case_input(pt_case *c, mg_graph *g, const char *name, bool requires_grad);
/* A standalone parameter holding fixture tensor name; freed at the end of the case. */
mg_tensor *case_param(pt_case *c, const char *name);
/* Compares t with fixture tensor ref_name. With base_name, the error is measured against
 * max |ref - base| (the displacement) instead of max |ref|. */
void case_compare_ex(pt_case *c, const char *ref_name, const mg_tensor *t, const char *base_name, double tol);
/* case_compare_ex() without a base, at the case's tolerance. */
void case_compare(pt_case *c, const char *ref_name, const mg_tensor *t);
/* Compares the gradient of t with fixture tensor ref_name. */
void case_compare_grad(pt_case *c, const char *ref_name, const mg_tensor *t);
/* Back-propagates fixture tensor "gy" from y. */
bool case_backward(pt_case *c, mg_graph *g, mg_tensor *y);
/* A new graph on the case's backend; NULL (and the case fails) on failure. */
mg_graph *case_graph(pt_case *c);
/* The common check of one op: unless the graph failed (what names the op), compares y with "y", then
 * back-propagates "gy" and compares the n gradients of grads. */
void case_check_op(pt_case *c, mg_graph *g, mg_tensor *y, const char *what, int n, const pt_grad *grads);

/* The runners in their own files. */
void run_dropout(pt_case *c);
void run_adam(pt_case *c);
void run_adam_skip(pt_case *c);
void run_unet(pt_case *c);
void run_net(pt_case *c);
void run_cyclegan_step(pt_case *c);

/* Helpers of the network and training-step cases (parity-nets.c). */
/* Loads the fixture tensors whose names start with prefix, in file order, into refs (at most max_refs),
 * checks that they match net's parameter list in count and shapes (an architecture mismatch fails the
 * case with both lists) and writes them into net's parameters. Returns their number, -1 on failure. */
int case_net_load(pt_case *c, const mg_net *net, const char *prefix, const mgfx_tensor **refs, int max_refs);
/* max |x| over a fixture tensor. */
double case_max_abs(const mgfx_tensor *ft);
/* case_compare() with the scale max(max |ref|, min_scale) at tolerance tol. */
void case_compare_scaled(pt_case *c, const char *ref_name, const mg_tensor *t, double min_scale, double tol);
/* Fixture tensor name, which must have exactly n elements; NULL (and the case fails) otherwise. */
const mgfx_tensor *case_vector(pt_case *c, const char *name, int n);

#endif
