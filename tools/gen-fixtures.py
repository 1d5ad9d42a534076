#!/usr/bin/python3
"""Write the PyTorch reference fixtures for mrigan's parity test (tests/test-parity.c).

Usage (from the repository root; needs PyTorch and NumPy, and the reference model
../shared/reference/cyclegan_ref.py next to the repository for the network and training-step
cases; the committed fixtures are all the test itself needs):

    /usr/bin/python3 tools/gen-fixtures.py [OUTDIR]

OUTDIR defaults to tests/fixtures next to this script's parent directory.  One file
<case>.mgfx is written per case; the output is deterministic (every case draws its data
from its own torch.Generator seeded with the CRC-32 of the case name, one thread).

File format (.mgfx, little-endian):
    "MGFX", uint32 version (1), uint32 n_tensors, then per tensor:
    uint32 name_len, name bytes (no NUL), uint32 ndim (0..4), uint32 shape[ndim],
    float32 data[product of shape].

Inputs are drawn as float32 and stored as float32.  The reference outputs and gradients
are computed in float64 from those same float32 inputs and rounded to float32 when
stored, so a fixture carries (almost) no rounding error of its own.  For every case the
script also prints how far PyTorch's own float32 result is from the float64 reference
("f32err", the max over all stored results of max|f32 - f64| / max|f64|); this is the
evidence for the tolerances chosen in tests/test-parity.c.

Tensors of a gradient case ("op" cases):
    inputs ("x", "w", "b", "a", "target", "gamma", "beta", ...), "params" (see below),
    "y" the op's output, "gy" a random upstream gradient of y's shape, and
    "g<input>" (gx, gw, gb, ga, gtarget, ggamma, gbeta) = d sum(y * gy) / d <input>.
    Losses (mean reduction) and mean/sum store y and gy with shape [1].

"params" per op family (a float32 vector):
    conv2d_*           [stride_h, stride_w, pad_h, pad_w, has_bias]
    convt_*            [stride_h, stride_w, pad_h, pad_w, out_pad_h, out_pad_w, has_bias]
                       (weight layout [Cin, Cout, kh, kw] as torch.nn.functional.conv_transpose2d)
    reflect_pad_*      [left, right, top, bottom]  (F.pad(x, (left, right, top, bottom), 'reflect'))
    instance_norm_*    [eps, affine]
    leaky_relu         [slope]
    scale              [s]
    relu, tanh, sigmoid, add, concat_*, mean, sum, losses: no "params" tensor
    dropout            [p]             tensors x, y (torch, training mode); no gradients
    adam, adam_lr_change
                       [lr, beta1, beta2, eps, n_steps, lr_after, switch_after]
                       tensors p0, g1..gN (gradient of step k), p1..pN (parameter after step k),
                       m_last, v_last (exp_avg, exp_avg_sq after the last step).  After step
                       `switch_after` the learning rate becomes lr_after (switch_after = n_steps:
                       never).
    adam_skip          [lr, beta1, beta2, eps, n_steps, q_first]
                       two parameters p and q in one optimiser: p0, q0, g1..gN for p,
                       h<q_first>..hN for q (q has no gradient before step q_first, so torch
                       skips it and q keeps its own step count), p1..pN, q1..qN.
    unet64             [eps, slope]    see unet_forward() for the network.
    net_unet, net_resnet, net_patchgan
                       [kind, width, depth, blocks]  the reference's UNet, resnet_g and patch_d,
                       forward and backward; see gen_net().
    cyclegan_step      [ngf, depth, ndf, lambda_cycle, lambda_identity, pool_size, lr, beta1,
                       beta2]  two steps of the reference's CycleGAN; see gen_cyclegan_step().
"""

import argparse
import copy
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

F64 = torch.float64
F32 = torch.float32
EPS = 1e-5
SLOPE = 0.2


# ------------------------------------------------------------------ file writing

def write_mgfx(path, tensors):
    """tensors: list of (name, array-like); written as float32 little-endian."""
    with open(path, "wb") as f:
        f.write(b"MGFX")
        f.write(struct.pack("<II", 1, len(tensors)))
        for name, t in tensors:
            if isinstance(t, torch.Tensor):
                t = t.detach().to(F64).numpy()
            a = np.ascontiguousarray(np.asarray(t, dtype=np.float64).astype("<f4"))
            nb = name.encode("ascii")
            assert 0 < len(nb) < 64, name
            assert a.ndim <= 4, name
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", a.ndim))
            if a.ndim:
                f.write(struct.pack("<%dI" % a.ndim, *a.shape))
            f.write(a.tobytes())


class Case:
    """One fixture: its own deterministic generator and the tensors to store."""

    def __init__(self, name):
        self.name = name
        self.gen = torch.Generator().manual_seed(zlib.crc32(name.encode("ascii")))
        self.tensors = []
        self.f32err = 0.0

    def randn(self, *shape, scale=1.0, offset=0.0):
        return torch.randn(shape, generator=self.gen, dtype=F32) * scale + offset

    def uniform(self, *shape, lo=0.0, hi=1.0):
        return torch.rand(shape, generator=self.gen, dtype=F32) * (hi - lo) + lo

    def away_from_zero(self, *shape, margin=0.05):
        """Normal draws pushed at least `margin` away from 0 (kinks of relu, |.|, dropout)."""
        r = self.randn(*shape)
        return torch.where(r >= 0, r + margin, r - margin)

    def add(self, name, t):
        assert name not in [n for n, _ in self.tensors], name
        self.tensors.append((name, t))

    def note_err(self, got32, ref64):
        ref = ref64.detach().to(F64)
        scale = ref.abs().max().item()
        if scale == 0.0:
            scale = 1.0
        err = (got32.detach().to(F64) - ref).abs().max().item() / scale
        self.f32err = max(self.f32err, err)

    def write(self, outdir):
        path = os.path.join(outdir, self.name + ".mgfx")
        write_mgfx(path, self.tensors)
        size = os.path.getsize(path)
        print("%-34s %7d bytes  f32err=%.2e" % (self.name, size, self.f32err))
        return size


def grad_case(c, params, inputs, fn):
    """inputs: list of (name, float32 tensor, needs_grad).  fn(*tensors) -> y.
    params: list of floats stored as "params", or None for an op without parameters.

    Stores the inputs, params, y, gy and the gradient g<name> of sum(y * gy) for every
    input with needs_grad, all from a float64 evaluation."""
    gy = None
    ref = None
    for dtype in (F64, F32):
        ts = [t.to(dtype).detach().clone().requires_grad_(need) for _, t, need in inputs]
        y = fn(*ts)
        if gy is None:
            gy = c.randn(*y.shape)
        (y * gy.to(dtype)).sum().backward()
        grads = [t.grad for t, (_, _, need) in zip(ts, inputs) if need]
        if dtype is F64:
            ref = (y.detach(), grads)
        else:
            c.note_err(y, ref[0])
            for g32, g64 in zip(grads, ref[1]):
                c.note_err(g32, g64)
    for name, t, _ in inputs:
        c.add(name, t)
    if params is not None:
        c.add("params", torch.tensor(params, dtype=F64))
    c.add("y", ref[0])
    c.add("gy", gy)
    gi = 0
    for name, _, need in inputs:
        if need:
            c.add("g" + name, ref[1][gi])
            gi += 1


# ------------------------------------------------------------------ op cases

# name, N, Cin, Cout, H, W, kh, kw, stride_h, stride_w, pad_h, pad_w, bias
CONV2D = [
    ("conv2d_k1_s1_p0", 2, 3, 4, 5, 6, 1, 1, 1, 1, 0, 0, True),
    ("conv2d_k1_s2_p0_nobias", 2, 4, 3, 7, 5, 1, 1, 2, 2, 0, 0, False),
    ("conv2d_k3_s1_p1", 2, 3, 4, 7, 9, 3, 3, 1, 1, 1, 1, True),
    ("conv2d_k3_s2_p1", 2, 3, 5, 9, 11, 3, 3, 2, 2, 1, 1, True),
    ("conv2d_k3_s2_p0_nobias", 2, 2, 3, 7, 8, 3, 3, 2, 2, 0, 0, False),
    ("conv2d_k4_s2_p1", 2, 3, 4, 10, 8, 4, 4, 2, 2, 1, 1, True),
    ("conv2d_k4_s2_p1_odd", 2, 2, 3, 9, 11, 4, 4, 2, 2, 1, 1, True),
    ("conv2d_k4_s1_p1", 2, 3, 2, 6, 7, 4, 4, 1, 1, 1, 1, True),
    ("conv2d_k7_s1_p0", 2, 3, 4, 9, 10, 7, 7, 1, 1, 0, 0, True),
    ("conv2d_k7_s1_p3_nobias", 2, 2, 3, 8, 9, 7, 7, 1, 1, 3, 3, False),
    ("conv2d_k3x5_s1x2_p1x2", 2, 3, 4, 7, 11, 3, 5, 1, 2, 1, 2, True),
    ("conv2d_k5x3_s2x1_p0x1_nobias", 2, 2, 3, 9, 6, 5, 3, 2, 1, 0, 1, False),
]

# name, N, Cin, Cout, H, W, kh, kw, stride_h, stride_w, pad_h, pad_w, out_pad_h, out_pad_w, bias
CONVT = [
    ("convt_k3_s2_p1_op1", 2, 4, 3, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, True),
    ("convt_k3_s2_p1_nobias", 2, 3, 2, 5, 5, 3, 3, 2, 2, 1, 1, 0, 0, False),
    ("convt_k4_s2_p1", 2, 3, 2, 4, 5, 4, 4, 2, 2, 1, 1, 0, 0, True),
    ("convt_k3_s1_p1", 2, 3, 4, 6, 7, 3, 3, 1, 1, 1, 1, 0, 0, True),
    ("convt_k1_s1_p0", 2, 4, 3, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, True),
    ("convt_k2_s2_p0", 2, 3, 2, 4, 5, 2, 2, 2, 2, 0, 0, 0, 0, True),
    ("convt_k4_s3_p1_op1", 2, 2, 3, 4, 3, 4, 4, 3, 3, 1, 1, 1, 1, True),
    ("convt_k3x4_s2x1_p1x0_op1x0_nobias", 2, 3, 2, 5, 4, 3, 4, 2, 1, 1, 0, 1, 0, False),
]

# name, N, C, H, W, left, right, top, bottom
REFLECT = [
    ("reflect_pad_1_2_3_0", 2, 3, 7, 9, 1, 2, 3, 0),
    ("reflect_pad_3_3_3_3", 2, 3, 7, 9, 3, 3, 3, 3),
    ("reflect_pad_1_1_1_1", 2, 2, 5, 4, 1, 1, 1, 1),
    ("reflect_pad_0_4_2_1", 1, 2, 6, 5, 0, 4, 2, 1),
]


def gen_conv2d(outdir):
    total = 0
    for name, n, cin, cout, h, w, kh, kw, sh, sw, ph, pw, bias in CONV2D:
        c = Case(name)
        bound = 1.0 / (cin * kh * kw) ** 0.5
        inputs = [("x", c.randn(n, cin, h, w), True),
                  ("w", c.uniform(cout, cin, kh, kw, lo=-bound, hi=bound), True)]
        if bias:
            inputs.append(("b", c.uniform(cout, lo=-bound, hi=bound), True))

        def fn(x, wt, b=None, sh=sh, sw=sw, ph=ph, pw=pw):
            return F.conv2d(x, wt, b, stride=(sh, sw), padding=(ph, pw))

        grad_case(c, [sh, sw, ph, pw, 1 if bias else 0], inputs, fn)
        total += c.write(outdir)
    return total


def gen_convt(outdir):
    total = 0
    for name, n, cin, cout, h, w, kh, kw, sh, sw, ph, pw, oh, ow, bias in CONVT:
        c = Case(name)
        bound = 1.0 / (cout * kh * kw) ** 0.5
        inputs = [("x", c.randn(n, cin, h, w), True),
                  ("w", c.uniform(cin, cout, kh, kw, lo=-bound, hi=bound), True)]
        if bias:
            inputs.append(("b", c.uniform(cout, lo=-bound, hi=bound), True))

        def fn(x, wt, b=None, sh=sh, sw=sw, ph=ph, pw=pw, oh=oh, ow=ow):
            return F.conv_transpose2d(x, wt, b, stride=(sh, sw), padding=(ph, pw),
                                      output_padding=(oh, ow))

        grad_case(c, [sh, sw, ph, pw, oh, ow, 1 if bias else 0], inputs, fn)
        total += c.write(outdir)
    return total


def gen_reflect(outdir):
    total = 0
    for name, n, ch, h, w, left, right, top, bottom in REFLECT:
        c = Case(name)
        pads = (left, right, top, bottom)
        grad_case(c, list(pads), [("x", c.randn(n, ch, h, w), True)],
                  lambda x, pads=pads: F.pad(x, pads, mode="reflect"))
        total += c.write(outdir)
    return total


def gen_instance_norm(outdir):
    total = 0
    # name, N, C, H, W, scale, offset, affine
    for name, n, ch, h, w, scale, offset, affine in [
            ("instance_norm_affine", 2, 3, 7, 9, 2.0, 0.5, True),
            ("instance_norm_noaffine", 2, 4, 5, 6, 1.0, 0.0, False),
            ("instance_norm_offset", 2, 3, 6, 6, 0.5, 2.0, True),
            ("instance_norm_small_plane", 2, 5, 2, 3, 1.5, -1.0, False)]:
        c = Case(name)
        inputs = [("x", c.randn(n, ch, h, w, scale=scale, offset=offset), True)]
        if affine:
            inputs.append(("gamma", c.randn(ch, scale=0.5, offset=1.0), True))
            inputs.append(("beta", c.randn(ch, scale=0.5), True))

        def fn(x, gamma=None, beta=None):
            return F.instance_norm(x, weight=gamma, bias=beta, eps=EPS)

        grad_case(c, [EPS, 1 if affine else 0], inputs, fn)
        total += c.write(outdir)
    return total


def gen_elementwise(outdir):
    total = 0

    c = Case("relu")
    grad_case(c, None, [("x", c.away_from_zero(2, 3, 5, 7, margin=0.01), True)], F.relu)
    total += c.write(outdir)

    c = Case("leaky_relu")
    grad_case(c, [SLOPE], [("x", c.away_from_zero(2, 3, 5, 7, margin=0.01), True)],
              lambda x: F.leaky_relu(x, SLOPE))
    total += c.write(outdir)

    c = Case("tanh")
    grad_case(c, None, [("x", c.randn(2, 3, 5, 7, scale=2.0), True)], torch.tanh)
    total += c.write(outdir)

    c = Case("sigmoid")
    grad_case(c, None, [("x", c.randn(2, 3, 5, 7, scale=3.0), True)], torch.sigmoid)
    total += c.write(outdir)

    c = Case("add")
    grad_case(c, None, [("a", c.randn(2, 3, 4, 5), True), ("b", c.randn(2, 3, 4, 5), True)],
              lambda a, b: a + b)
    total += c.write(outdir)

    c = Case("scale")
    grad_case(c, [-1.7], [("x", c.randn(2, 3, 4, 5), True)], lambda x: x * -1.7)
    total += c.write(outdir)

    c = Case("concat")
    grad_case(c, None, [("a", c.randn(2, 3, 4, 5), True), ("b", c.randn(2, 2, 4, 5), True)],
              lambda a, b: torch.cat([a, b], dim=1))
    total += c.write(outdir)

    c = Case("concat_c1")
    grad_case(c, None, [("a", c.randn(2, 1, 5, 3), True), ("b", c.randn(2, 4, 5, 3), True)],
              lambda a, b: torch.cat([a, b], dim=1))
    total += c.write(outdir)

    c = Case("mean")
    grad_case(c, None, [("x", c.randn(2, 3, 5, 4), True)], lambda x: x.mean().reshape(1))
    total += c.write(outdir)

    c = Case("sum")
    grad_case(c, None, [("x", c.randn(6, 7), True)], lambda x: x.sum().reshape(1))
    total += c.write(outdir)
    return total


def gen_losses(outdir):
    total = 0

    c = Case("mse_loss")
    grad_case(c, None, [("x", c.randn(2, 3, 4, 5), True), ("target", c.randn(2, 3, 4, 5), True)],
              lambda x, t: F.mse_loss(x, t).reshape(1))
    total += c.write(outdir)

    c = Case("l1_loss")
    target = c.randn(2, 3, 4, 5)
    x = target + c.away_from_zero(2, 3, 4, 5, margin=0.05)  # |x - target| >= 0.05
    grad_case(c, None, [("x", x, True), ("target", target, True)],
              lambda x, t: F.l1_loss(x, t).reshape(1))
    total += c.write(outdir)

    c = Case("bce_logits_loss")
    grad_case(c, None, [("x", c.randn(2, 3, 4, 5, scale=2.0), True),
                       ("target", c.uniform(2, 3, 4, 5), True)],
              lambda x, t: F.binary_cross_entropy_with_logits(x, t).reshape(1))
    total += c.write(outdir)

    c = Case("bce_logits_loss_hard")
    x = c.randn(2, 1, 6, 6, scale=6.0)  # large logits: checks the stable log(1 + exp(-|x|)) form
    target = (c.uniform(2, 1, 6, 6) < 0.5).to(F32)
    grad_case(c, None, [("x", x, True), ("target", target, True)],
              lambda x, t: F.binary_cross_entropy_with_logits(x, t).reshape(1))
    total += c.write(outdir)
    return total


def gen_dropout(outdir):
    c = Case("dropout")
    p = 0.5
    x = c.away_from_zero(2, 3, 8, 8, margin=0.1)
    torch.manual_seed(zlib.crc32(b"dropout"))
    y = F.dropout(x, p=p, training=True)
    kept = y != 0
    # torch's convention, which mrigan shares: kept elements are x / (1 - p).
    assert torch.allclose(y[kept], x[kept] / (1.0 - p), rtol=1e-6, atol=0.0)
    assert 0.3 < kept.to(F64).mean().item() < 0.7
    c.add("x", x)
    c.add("params", torch.tensor([p], dtype=F64))
    c.add("y", y)
    return c.write(outdir)


# ------------------------------------------------------------------ Adam

ADAM_BETAS = (0.5, 0.999)
ADAM_EPS = 1e-8


def adam_grads(c, n_steps, shape):
    """Gradients whose magnitudes span 1e-6 .. 1e2 by element (the tiny ones make eps
    matter), with one element that is always zero."""
    numel = int(np.prod(shape))
    mags = torch.tensor([10.0 ** ((i % 9) - 6) for i in range(numel)], dtype=F32).reshape(shape)
    gs = []
    for _ in range(n_steps):
        g = c.randn(*shape) * mags
        g.view(-1)[numel // 2] = 0.0
        gs.append(g)
    return gs


def run_adam(p0s, grads_per_step, lr, lr_after, switch_after, dtype):
    """grads_per_step[k][i]: gradient of parameter i at step k+1 or None (no gradient yet)."""
    ps = [p.to(dtype).detach().clone().requires_grad_(True) for p in p0s]
    opt = torch.optim.Adam(ps, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS)
    traj = []
    for k, gs in enumerate(grads_per_step):
        if k == switch_after:
            for group in opt.param_groups:
                group["lr"] = lr_after
        for p, g in zip(ps, gs):
            if g is not None:
                p.grad = g.to(dtype).clone()
        opt.step()
        traj.append([p.detach().clone() for p in ps])
    states = [(opt.state[p]["exp_avg"].clone(), opt.state[p]["exp_avg_sq"].clone())
              if p in opt.state else None for p in ps]
    return traj, states


def gen_adam(outdir):
    total = 0
    n = 5
    for name, lr, lr_after, switch_after in [("adam", 2e-4, 2e-4, n),
                                              ("adam_lr_change", 1e-2, 5e-3, 2)]:
        c = Case(name)
        p0 = c.randn(37, scale=0.1)
        gs = adam_grads(c, n, (37,))
        traj64, st64 = run_adam([p0], [[g] for g in gs], lr, lr_after, switch_after, F64)
        traj32, st32 = run_adam([p0], [[g] for g in gs], lr, lr_after, switch_after, F32)
        for k in range(n):
            c.note_err(traj32[k][0] - p0, traj64[k][0] - p0.to(F64))
        c.add("params", torch.tensor([lr, ADAM_BETAS[0], ADAM_BETAS[1], ADAM_EPS, n,
                                      lr_after, switch_after], dtype=F64))
        c.add("p0", p0)
        for k in range(n):
            c.add("g%d" % (k + 1), gs[k])
        for k in range(n):
            c.add("p%d" % (k + 1), traj64[k][0])
        c.add("m_last", st64[0][0])
        c.add("v_last", st64[0][1])
        total += c.write(outdir)

    c = Case("adam_skip")
    lr, q_first = 2e-4, 3
    p0 = c.randn(37, scale=0.1)
    q0 = c.randn(3, 4, scale=0.1)
    gs = adam_grads(c, n, (37,))
    hs = adam_grads(c, n, (3, 4))
    steps = [[gs[k], hs[k] if k + 1 >= q_first else None] for k in range(n)]
    traj64, _ = run_adam([p0, q0], steps, lr, lr, n, F64)
    traj32, _ = run_adam([p0, q0], steps, lr, lr, n, F32)
    for k in range(n):
        c.note_err(traj32[k][0] - p0, traj64[k][0] - p0.to(F64))
        if k + 1 >= q_first:
            c.note_err(traj32[k][1] - q0, traj64[k][1] - q0.to(F64))
    c.add("params", torch.tensor([lr, ADAM_BETAS[0], ADAM_BETAS[1], ADAM_EPS, n, q_first],
                                 dtype=F64))
    c.add("p0", p0)
    c.add("q0", q0)
    for k in range(n):
        c.add("g%d" % (k + 1), gs[k])
    for k in range(q_first - 1, n):
        c.add("h%d" % (k + 1), hs[k])
    for k in range(n):
        c.add("p%d" % (k + 1), traj64[k][0])
    for k in range(n):
        c.add("q%d" % (k + 1), traj64[k][1])
    total += c.write(outdir)
    return total


# ------------------------------------------------------------------ U-Net

# name, shape, has_bias; weights are stored under "<name>.w", "<name>.b".  Layers followed
# by instance norm have no bias: its gradient would be zero in exact arithmetic (the norm
# removes any per-channel constant), so it could only be compared against rounding noise.
UNET_LAYERS = [
    ("e1", (4, 1, 4, 4), True),    # conv 4/2/1: [1,1,64,64] -> [1,4,32,32]
    ("e2", (8, 4, 4, 4), False),   # conv 4/2/1 + IN: -> [1,8,16,16]
    ("e3", (8, 8, 4, 4), False),   # conv 4/2/1 + IN: -> [1,8,8,8]
    ("res", (8, 8, 3, 3), False),  # reflect pad 1 + conv 3 + affine IN, residual add
    ("e4", (8, 8, 4, 4), True),    # innermost conv 4/2/1: -> [1,8,4,4]
    ("d4", (8, 8, 4, 4), False),   # convT 4/2/1 + IN: -> [1,8,8,8]
    ("d3", (16, 8, 4, 4), False),  # convT on cat(r, d4) + IN: -> [1,8,16,16]
    ("d2", (16, 4, 4, 4), False),  # convT on cat(e2, d3) + IN: -> [1,4,32,32]
    ("d1", (8, 1, 4, 4), True),    # convT on cat(e1, d2) + tanh: -> [1,1,64,64]
]


def unet_forward(x, p, t1, t2):
    """Returns (out, loss).  p maps "<layer>.w", "<layer>.b", "res.gamma", "res.beta" to tensors.

    e1 = conv(x, e1, s2 p1)
    e2 = IN(conv(lrelu(e1), e2, s2 p1))
    e3 = IN(conv(lrelu(e2), e3, s2 p1))
    r  = e3 + IN_affine(conv(reflect_pad1(relu(e3)), res, s1 p0), res.gamma, res.beta)
    e4 = conv(lrelu(r), e4, s2 p1)
    d4 = IN(convT(relu(e4), d4, s2 p1))
    d3 = IN(convT(relu(cat(r, d4)), d3, s2 p1))
    d2 = IN(convT(relu(cat(e2, d3)), d2, s2 p1))
    out = tanh(convT(relu(cat(e1, d2)), d1, s2 p1))
    loss = l1(out, t1) + 0.5 * mse(out, t2)
    (IN: instance norm eps 1e-5 without affine unless stated; lrelu slope 0.2)"""
    def b(name):
        return p.get(name + ".b")

    lrelu = lambda t: F.leaky_relu(t, SLOPE)  # noqa: E731
    inorm = lambda t: F.instance_norm(t, eps=EPS)  # noqa: E731
    e1 = F.conv2d(x, p["e1.w"], b("e1"), stride=2, padding=1)
    e2 = inorm(F.conv2d(lrelu(e1), p["e2.w"], b("e2"), stride=2, padding=1))
    e3 = inorm(F.conv2d(lrelu(e2), p["e3.w"], b("e3"), stride=2, padding=1))
    rp = F.pad(F.relu(e3), (1, 1, 1, 1), mode="reflect")
    r = e3 + F.instance_norm(F.conv2d(rp, p["res.w"], b("res")),
                             weight=p["res.gamma"], bias=p["res.beta"], eps=EPS)
    e4 = F.conv2d(lrelu(r), p["e4.w"], b("e4"), stride=2, padding=1)
    d4 = inorm(F.conv_transpose2d(F.relu(e4), p["d4.w"], b("d4"), stride=2, padding=1))
    d3 = inorm(F.conv_transpose2d(F.relu(torch.cat([r, d4], 1)), p["d3.w"], b("d3"),
                                  stride=2, padding=1))
    d2 = inorm(F.conv_transpose2d(F.relu(torch.cat([e2, d3], 1)), p["d2.w"], b("d2"),
                                  stride=2, padding=1))
    out = torch.tanh(F.conv_transpose2d(F.relu(torch.cat([e1, d2], 1)), p["d1.w"], b("d1"),
                                        stride=2, padding=1))
    loss = F.l1_loss(out, t1) + 0.5 * F.mse_loss(out, t2)
    return out, loss.reshape(1)


def gen_unet(outdir):
    c = Case("unet64")
    x = c.randn(1, 1, 64, 64)
    params = {}
    for name, shape, has_bias in UNET_LAYERS:
        # torch's default bound 1/sqrt(fan_in); fan_in is size(1)*kh*kw for both layouts
        fan_in = shape[1] * shape[2] * shape[3]
        bound = 1.0 / fan_in ** 0.5
        params[name + ".w"] = c.uniform(*shape, lo=-bound, hi=bound)
        if has_bias:
            out_ch = shape[1] if name.startswith("d") else shape[0]
            params[name + ".b"] = c.uniform(out_ch, lo=-bound, hi=bound)
    params["res.gamma"] = c.randn(8, scale=0.3, offset=1.0)
    params["res.beta"] = c.randn(8, scale=0.3)
    t2 = c.uniform(1, 1, 64, 64, lo=-1.0, hi=1.0)

    # t1 is placed at least 0.1 away from the float64 output so that sign(out - t1) of
    # the L1 term cannot flip under float32 rounding.
    with torch.no_grad():
        out0, _ = unet_forward(x.to(F64), {k: v.to(F64) for k, v in params.items()},
                               torch.zeros(1, 1, 64, 64, dtype=F64), t2.to(F64))
    t1 = out0.to(F32) + c.away_from_zero(1, 1, 64, 64, margin=0.1 / 0.3) * 0.3

    ref = None
    for dtype in (F64, F32):
        xs = x.to(dtype).clone().requires_grad_(True)
        ps = {k: v.to(dtype).clone().requires_grad_(True) for k, v in params.items()}
        out, loss = unet_forward(xs, ps, t1.to(dtype), t2.to(dtype))
        loss.sum().backward()
        res = [out.detach(), loss.detach(), xs.grad] + [ps[k].grad for k in sorted(ps)]
        if dtype is F64:
            ref = res
        else:
            for a, b in zip(res, ref):
                c.note_err(a, b)
    c.add("params", torch.tensor([EPS, SLOPE], dtype=F64))
    c.add("x", x)
    c.add("target", t1)
    c.add("target2", t2)
    for k in sorted(params):
        c.add(k, params[k])
    c.add("y", ref[0])
    c.add("loss", ref[1])
    c.add("gx", ref[2])
    for k, g in zip(sorted(params), ref[3:]):
        c.add("g" + k, g)
    return c.write(outdir)


# ------------------------------------------------------------------ the reference networks

def import_reference():
    """The reference model ../shared/reference/cyclegan_ref.py, next to the repository."""
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ref_dir = os.path.normpath(os.path.join(repo_root, "..", "shared", "reference"))
    if not os.path.isfile(os.path.join(ref_dir, "cyclegan_ref.py")):
        sys.exit("gen-fixtures.py: the reference model %s is missing; the network and training-step "
                 "fixtures are built from it (the committed fixtures do not need it)"
                 % os.path.join(ref_dir, "cyclegan_ref.py"))
    sys.path.insert(0, ref_dir)
    try:
        import cyclegan_ref
    finally:
        sys.path.pop(0)
    return cyclegan_ref


def dead_biases(net):
    """One flag per parameter (named_parameters order): the bias of a convolution that is directly
    followed by an instance norm.  The norm removes any per-channel constant, so the gradient of such a
    bias is zero in exact arithmetic and only rounding noise in float32."""
    dead = set()
    for mod in net.modules():
        if isinstance(mod, torch.nn.Sequential):
            ch = list(mod.children())
            for a, b in zip(ch, ch[1:]):
                if (isinstance(a, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
                        and isinstance(b, torch.nn.InstanceNorm2d) and a.bias is not None):
                    dead.add(id(a.bias))
    return [id(p) in dead for _, p in net.named_parameters()]


def init_net(ref, c, net, tag):
    """Weights normal(0, 0.02) by the reference's init_normal (the global generator, seeded from the
    case name and tag), then biases normal(0, 0.02) from the case's generator so that they matter."""
    torch.manual_seed(zlib.crc32(("%s/%s" % (c.name, tag)).encode("ascii")))
    ref.init_normal(net)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(".bias"):
                p.copy_(c.randn(*p.shape, scale=0.02))
    names = [n for n, _ in net.named_parameters()]
    assert names == list(net.state_dict().keys()), "parameters and state_dict differ"
    return net


def check_dead(net_name, names, dead, grads):
    """The float64 gradient of every dead bias is rounding noise next to its weight's, and no live
    parameter's gradient is."""
    for i, (n, d, g) in enumerate(zip(names, dead, grads)):
        gmax = g.abs().max().item()
        if d:
            assert i > 0 and names[i - 1].endswith(".weight"), n
            assert gmax <= 1e-10 * grads[i - 1].abs().max().item(), (net_name, n, gmax)
        else:
            assert gmax > 1e-6, (net_name, n, gmax)


def net_eval(net32, x, gy, dtype):
    """y and the gradients of sum(y * gy) with respect to x and to every parameter."""
    net = copy.deepcopy(net32).to(dtype)
    xs = x.to(dtype).clone().requires_grad_(True)
    y = net(xs)
    (y * gy.to(dtype)).sum().backward()
    return y.detach(), xs.grad, [p.grad for _, p in net.named_parameters()]


def gen_net(outdir, ref, name, kind, width, depth, blocks, shapes):
    """A network, forward and backward, for each input shape in shapes (all with the same weights).

    Tensors: "params" [kind (0 unet, 1 resnet, 2 patchgan), ngf|ndf, depth, blocks], "dead" (one flag
    per parameter, see dead_biases), "p:<state_dict name>" the parameters in state_dict order, and per
    input k (suffix "" for the first, "2" for the second): "x<k>", "y<k>", "gy<k>", "gx<k>" and
    "g<k>:<state_dict name>", the gradients of sum(y * gy)."""
    c = Case(name)
    if kind == 0:
        net = ref.UNet(depth, width, dropout=False)
    elif kind == 1:
        net = ref.resnet_g(width, blocks, dropout=False)
    else:
        net = ref.patch_d(width)
    init_net(ref, c, net, "net")
    names = [n for n, _ in net.named_parameters()]
    dead = dead_biases(net)
    c.add("params", torch.tensor([kind, width, depth, blocks], dtype=F64))
    c.add("dead", torch.tensor([1.0 if d else 0.0 for d in dead], dtype=F64))
    for n, p in net.named_parameters():
        c.add("p:" + n, p.detach())
    for k, shape in enumerate(shapes):
        sfx = "" if k == 0 else str(k + 1)
        x = c.randn(*shape)
        with torch.no_grad():
            gy = c.randn(*net(x).shape)
        y64, gx64, g64 = net_eval(net, x, gy, F64)
        y32, gx32, g32 = net_eval(net, x, gy, F32)
        check_dead(name, names, dead, g64)
        c.note_err(y32, y64)
        c.note_err(gx32, gx64)
        for n, d, a, b in zip(names, dead, g32, g64):
            if not d:
                c.note_err(a, b)
        c.add("x" + sfx, x)
        c.add("y" + sfx, y64)
        c.add("gy" + sfx, gy)
        c.add("gx" + sfx, gx64)
        for n, g in zip(names, g64):
            c.add("g%s:%s" % (sfx, n), g)
    return c.write(outdir)


def gen_nets(outdir, ref):
    total = 0
    # Widths 2 keep the fixtures small (a U-Net of depth 5 at ngf 4 has 65k parameters, 260 KB per
    # copy); every layer, norm and skip of the architecture is there at any width.
    total += gen_net(outdir, ref, "net_unet", 0, 2, 5, 0, [(1, 1, 32, 32)])
    total += gen_net(outdir, ref, "net_resnet", 1, 2, 0, 2, [(1, 1, 32, 32), (1, 1, 24, 40)])
    total += gen_net(outdir, ref, "net_patchgan", 2, 2, 0, 0, [(1, 1, 32, 32)])
    return total


# ------------------------------------------------------------------ one CycleGAN training step

STEP_NETS = ("G_AB", "G_BA", "D_A", "D_B")
# mg_loss_names order (include/mrigan/cyclegan.h)
STEP_LOSSES = ("D_A", "D_B", "adv_AB", "adv_BA", "cyc_ABA", "cyc_BAB", "idt_AB", "idt_BA", "G_total")


def run_cyclegan(ref, nets, inputs, dtype):
    """The reference CycleGAN with the networks nets (copied to dtype) and its optimisers rebuilt as
    CycleGAN.__init__ builds them; one m.step per (a, b) of inputs.  Returns the model, the loss dicts
    and, per step, the gradients every parameter holds after it (G: the generator pass, D: the
    discriminator pass)."""
    args = argparse.Namespace(generator="unet", size=128, ngf=1, ndf=1, dropout=False)
    m = ref.CycleGAN(args)
    m.G_AB, m.G_BA, m.D_A, m.D_B = [copy.deepcopy(n).to(dtype) for n in nets]
    m.opt_G = torch.optim.Adam(list(m.G_AB.parameters()) + list(m.G_BA.parameters()),
                               lr=2e-4, betas=(0.5, 0.999))
    m.opt_D = torch.optim.Adam(list(m.D_A.parameters()) + list(m.D_B.parameters()),
                               lr=2e-4, betas=(0.5, 0.999))
    losses, grads = [], []
    for a, b in inputs:
        losses.append(m.step(a.to(dtype), b.to(dtype)))
        grads.append([p.grad.detach().clone() for n in (m.G_AB, m.G_BA, m.D_A, m.D_B)
                      for p in n.parameters()])
    return m, losses, grads


def gen_cyclegan_step(outdir, ref):
    """Two steps of the reference CycleGAN (U-Net generators of depth 5 at ngf 2, PatchGANs at ndf 2,
    LSGAN, 32x32 crops; the pools are not full, so they return the new fakes and draw nothing).

    Tensors: "params" [ngf, depth, ndf, lambda_cycle, lambda_identity, pool_size, lr, beta1, beta2],
    "a1", "b1", "a2", "b2" the crops, "w0:<net>.<name>" the initial and "w2:<net>.<name>" the final
    parameters of G_AB, G_BA, D_A, D_B (state_dict order), "dead" one flag per parameter (all four
    networks in that order, see dead_biases), "loss1", "loss2" the losses of each step in mg_loss_names
    order, and per step k "gdot<k>", "gnorm<k>": for every parameter, the dot product of the gradient it
    holds after step k with its initial value, and the gradient's 2-norm (a fingerprint of the full
    gradient at no storage cost)."""
    c = Case("cyclegan_step")
    ngf, depth, ndf = 2, 5, 2
    nets = [ref.UNet(depth, ngf, dropout=False), ref.UNet(depth, ngf, dropout=False),
            ref.patch_d(ndf), ref.patch_d(ndf)]
    for tag, n in zip(STEP_NETS, nets):
        init_net(ref, c, n, tag)
    inputs = [(c.uniform(1, 1, 32, 32, lo=-1.0, hi=1.0), c.uniform(1, 1, 32, 32, lo=-1.0, hi=1.0))
              for _ in range(2)]
    m64, l64, g64 = run_cyclegan(ref, nets, inputs, F64)
    m32, l32, _ = run_cyclegan(ref, nets, inputs, F32)

    names = ["%s.%s" % (t, n) for t, net in zip(STEP_NETS, nets) for n, _ in net.named_parameters()]
    dead = [d for net in nets for d in dead_biases(net)]
    p0 = [p.detach() for net in nets for p in net.parameters()]
    p64 = [p.detach() for net in (m64.G_AB, m64.G_BA, m64.D_A, m64.D_B) for p in net.parameters()]
    p32 = [p.detach() for net in (m32.G_AB, m32.G_BA, m32.D_A, m32.D_B) for p in net.parameters()]
    for g in g64:
        check_dead("cyclegan_step", names, dead, g)

    # f32err: PyTorch's float32 losses against the float64 ones; the weights are reported apart,
    # relative to their displacement (live parameters only: Adam turns the rounding noise of a dead
    # bias's zero gradient into steps of up to lr, see tests/parity-step.c).
    for s in range(2):
        for k in STEP_LOSSES:
            c.note_err(torch.tensor([l32[s][k]], dtype=F64), torch.tensor([l64[s][k]], dtype=F64))
    werr = 0.0
    for d, a, b, w0 in zip(dead, p32, p64, p0):
        if not d:
            disp = (b - w0.to(F64)).abs().max().item()
            werr = max(werr, (a.to(F64) - b).abs().max().item() / disp)

    c.add("params", torch.tensor([ngf, depth, ndf, 10.0, 0.5, 50, 2e-4, 0.5, 0.999], dtype=F64))
    for s, (a, b) in enumerate(inputs):
        c.add("a%d" % (s + 1), a)
        c.add("b%d" % (s + 1), b)
    c.add("dead", torch.tensor([1.0 if d else 0.0 for d in dead], dtype=F64))
    for s in range(2):
        c.add("loss%d" % (s + 1), torch.tensor([l64[s][k] for k in STEP_LOSSES], dtype=F64))
        c.add("gdot%d" % (s + 1), torch.tensor([(g * w0.to(F64)).sum().item()
                                                 for g, w0 in zip(g64[s], p0)], dtype=F64))
        c.add("gnorm%d" % (s + 1), torch.tensor([g.norm().item() for g in g64[s]], dtype=F64))
    for n, w in zip(names, p0):
        c.add("w0:" + n, w)
    for n, w in zip(names, p64):
        c.add("w2:" + n, w)
    size = c.write(outdir)
    print("%-34s float32 weights: %.2e of the displacement" % ("", werr))
    return size


def main():
    ref = import_reference()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures")
    os.makedirs(outdir, exist_ok=True)
    total = 0
    total += gen_conv2d(outdir)
    total += gen_convt(outdir)
    total += gen_reflect(outdir)
    total += gen_instance_norm(outdir)
    total += gen_elementwise(outdir)
    total += gen_losses(outdir)
    total += gen_dropout(outdir)
    total += gen_adam(outdir)
    total += gen_unet(outdir)
    total += gen_nets(outdir, ref)
    total += gen_cyclegan_step(outdir, ref)
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
