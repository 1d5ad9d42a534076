#!/usr/bin/python3
"""Write the reference fixtures for mrigan's image metrics test (tests/test-metrics.c).

Usage (from the repository root; needs NumPy, SciPy and scikit-image, e.g. Debian's python3-skimage;
the committed fixtures are all the test itself needs):

    /usr/bin/python3 tools/gen-metric-fixtures.py [OUTDIR]

OUTDIR defaults to tests/fixtures/metrics.  One file <case>.mgfx is written per case, in the
format of tools/gen-fixtures.py (read by tests/fixture.c):
    "MGFX", uint32 version (1), uint32 n_tensors, then per tensor:
    uint32 name_len, name bytes (no NUL), uint32 ndim (0..4), uint32 shape[ndim],
    float32 data[product of shape], little-endian.
Case names give width x height. The output is deterministic: each case draws from NumPy's
PCG64 seeded with the CRC-32 of its name.

Tensors of a case (H x W images of 8-bit gray levels 0..255, stored exactly as float32):
    pred, target   [H, W]  the image judged and the reference
    ref            [3]     skimage's PSNR and SSIM of (target, pred) and the MAE, see reference()
    mask           [H, W]  (masked cases) 0/1: the foreground rule of mg_metrics_make_mask applied to
                           target with threshold 5, computed here with scipy.ndimage
    ref_masked     [3]     (masked cases) PSNR and MAE over the mask's pixels, and the mean of skimage's
                           SSIM map over the mask's pixels inside the valid region (5 pixels from each border)
"""

import os
import struct
import sys
import zlib

import numpy as np
import scipy.ndimage as ndi
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

DATA_RANGE = 255
PAD = 5  # skimage crops (win_size - 1) // 2 with the 11x11 Gaussian window
SSIM_ARGS = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=DATA_RANGE)
MASK_THRESHOLD = 5


def write_mgfx(path, tensors):
    """tensors: list of (name, array-like); written as float32 little-endian."""
    with open(path, "wb") as f:
        f.write(b"MGFX")
        f.write(struct.pack("<II", 1, len(tensors)))
        for name, t in tensors:
            a = np.ascontiguousarray(np.asarray(t, dtype=np.float64).astype("<f4"))
            nb = name.encode("ascii")
            assert 0 < len(nb) < 64 and a.ndim <= 4, name
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", a.ndim))
            if a.ndim:
                f.write(struct.pack("<%dI" % a.ndim, *a.shape))
            f.write(a.tobytes())


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode("ascii")))


def to_u8(x):
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def smooth_scene(rng, h, w, lo=30.0, hi=220.0):
    """A smooth image with structure at a few scales: a gradient plus Gaussian blobs."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = lo + (hi - lo) * 0.5 * (xx / max(w - 1, 1) + yy / max(h - 1, 1)) * 0.6
    for _ in range(6):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        s = rng.uniform(1.5, max(h, w) / 4)
        img += rng.uniform(-60, 60) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return to_u8(np.clip(img, lo, hi))


def head_scene(rng, h, w):
    """A skull-stripped-brain-like slice: a bright ellipse on a near-black background (0..3), with a dark
    ventricle inside (a hole for the foreground rule) and an isolated bright speck outside."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = rng.integers(0, 4, size=(h, w)).astype(np.float64)
    inside = ((yy - h / 2) / (0.38 * h)) ** 2 + ((xx - w / 2) / (0.36 * w)) ** 2 <= 1.0
    tissue = 90 + 60 * np.sin(xx / 3.0) * np.cos(yy / 4.0) + rng.normal(0, 8, size=(h, w))
    img[inside] = tissue[inside]
    hole = ((yy - h / 2) / 3.0) ** 2 + ((xx - w / 2 - 2) / 4.0) ** 2 <= 1.0
    img[hole] = 2
    img[1, 1] = 200
    return to_u8(img)


def foreground_mask(target):
    """mg_metrics_make_mask: > threshold, holes filled (4-connected background), 3x3 dilation."""
    fg = target.astype(np.float64) > MASK_THRESHOLD
    fg = ndi.binary_fill_holes(fg)
    return ndi.binary_dilation(fg, structure=np.ones((3, 3), bool))


def reference(pred, target, mask=None):
    """[PSNR, SSIM, MAE] of pred against target, all pixels or the mask's."""
    p = pred.astype(np.float64)
    t = target.astype(np.float64)
    if mask is None:
        psnr = peak_signal_noise_ratio(target, pred, data_range=DATA_RANGE)
        ssim = structural_similarity(target, pred, **SSIM_ARGS)
        mae = np.mean(np.abs(p - t))
        return [psnr, ssim, mae]
    _, smap = structural_similarity(target, pred, full=True, **SSIM_ARGS)
    inner = mask[PAD:-PAD, PAD:-PAD]
    ssim = smap[PAD:-PAD, PAD:-PAD][inner].mean(dtype=np.float64)
    d = (p - t)[mask]
    psnr = 10 * np.log10(DATA_RANGE ** 2 / np.mean(d * d))
    return [psnr, ssim, np.mean(np.abs(d))]


def case_noise(name, h, w, sigma):
    rng = rng_for(name)
    target = smooth_scene(rng, h, w)
    pred = to_u8(target + rng.normal(0, sigma, size=(h, w)))
    return target, pred, False


def case_blur(name, h, w, blur):
    rng = rng_for(name)
    target = smooth_scene(rng, h, w)
    target = to_u8(target + rng.normal(0, 6, size=(h, w)))  # texture for the blur to remove
    pred = to_u8(ndi.gaussian_filter(target.astype(np.float64), blur))
    return target, pred, False


def case_offset(name, h, w, offset):
    rng = rng_for(name)
    target = smooth_scene(rng, h, w)
    return target, to_u8(target.astype(np.float64) + offset), False


def case_head(name, h, w):
    rng = rng_for(name)
    target = head_scene(rng, h, w)
    pred = to_u8(target * 0.9 + rng.normal(0, 6, size=(h, w)) + 4)
    return target, pred, True


# (name: kind_WIDTHxHEIGHT, maker(name) -> target, pred, masked); the makers take height, width.
CASES = [
    ("noise_31x23", lambda n: case_noise(n, 23, 31, 12.0)),
    ("blur_64x48", lambda n: case_blur(n, 48, 64, 1.2)),
    ("offset_40x40", lambda n: case_offset(n, 40, 40, 12)),
    ("noise_11x11", lambda n: case_noise(n, 11, 11, 20.0)),
    ("head_44x36", lambda n: case_head(n, 36, 44)),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.normpath(os.path.join(here, "..", "tests", "fixtures", "metrics"))
    outdir = sys.argv[1] if len(sys.argv) > 1 else default
    os.makedirs(outdir, exist_ok=True)
    print("scikit-image %s, NumPy %s" % (skimage.__version__, np.__version__))
    total = 0
    for name, make in CASES:
        target, pred, masked = make(name)
        tensors = [("pred", pred), ("target", target), ("ref", reference(pred, target))]
        line = "psnr %.6f ssim %.6f mae %.6f" % tuple(tensors[-1][1])
        if masked:
            mask = foreground_mask(target)
            tensors += [("mask", mask), ("ref_masked", reference(pred, target, mask))]
            line += "  masked (%d px) psnr %.6f ssim %.6f mae %.6f" % ((int(mask.sum()),) + tuple(tensors[-1][1]))
        path = os.path.join(outdir, name + ".mgfx")
        write_mgfx(path, tensors)
        total += os.path.getsize(path)
        print("%-14s %s" % (name, line))
    print("%d bytes in %s" % (total, outdir))


if __name__ == "__main__":
    main()
