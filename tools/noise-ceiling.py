#!/usr/bin/python3
"""How close a translation can come to a noisy truth, on a phantom set rendered twice by `mrigan phantom`.

Usage (needs NumPy, Pillow and scikit-image, e.g. Debian's python3-skimage; nothing in the build or the
tests needs it):

    build/mrigan phantom --out NOISY --width 181 --height 217 --count 48
    build/mrigan phantom --out CLEAN --width 181 --height 217 --count 48 --noise 0
    /usr/bin/python3 tools/noise-ceiling.py NOISY CLEAN

The first command renders the same slices as `mrigan bench quality --sets phantom`; the second renders the
same anatomy without noise (a subject's anatomy does not depend on the noise). For each direction X -> Y it
prints PSNR (dB) and SSIM (scikit-image's, on the 8-bit gray levels, whole slice, mean over slices) against
the noisy truth Y of three images:

  noise-free truth    the truth's mean at each noise-free gray level (a perfect denoiser of Y);
  independent noise   the same plus noise drawn like the truth's but independently of it: the truth's
                      residuals, shuffled among the pixels of the same noise-free level. A generator whose
                      images cannot be told from real ones by their noise scores this at best;
  oracle table        the mean of Y at each gray level of the noisy input X, fitted on the true pairs: the
                      benchmark's oracle lookup table, here rounded to gray levels before it is scored, so
                      its figures can differ from the benchmark's in the third decimal.

The output is deterministic (NumPy's PCG64, seed 0, shuffles the residuals).
"""
import glob
import sys

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity


def load(folder, contrast):
    paths = sorted(glob.glob(f"{folder}/{contrast}/*.png"))
    if not paths:
        sys.exit(f"noise-ceiling: no PNG slices in {folder}/{contrast}")
    return np.stack([np.asarray(Image.open(p).convert("L"), dtype=np.float64) for p in paths])


def level_means(levels, values):
    """The mean of values at each integer level, looked up at every pixel."""
    flat = levels.astype(np.int64).ravel()
    count = np.bincount(flat, minlength=256)
    total = np.bincount(flat, values.ravel(), minlength=256)
    return (total / np.maximum(count, 1))[flat].reshape(levels.shape)


def score(truth, image):
    psnr = [10 * np.log10(255.0**2 / np.mean((t - p) ** 2)) for t, p in zip(truth, image)]
    ssim = [structural_similarity(t, p, data_range=255) for t, p in zip(truth, image)]
    return f"{np.mean(psnr):.2f} / {np.mean(ssim):.3f}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    noisy, clean = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    print("direction | noise-free truth | independent noise | oracle table (PSNR dB / SSIM)")
    for x, y in (("T1", "T2"), ("T2", "T1")):
        source, truth, free = load(noisy, x), load(noisy, y), load(clean, y)
        if source.shape != truth.shape or truth.shape != free.shape:
            sys.exit(f"noise-ceiling: {noisy} and {clean} hold different slices")
        denoised = level_means(free, truth)
        residual = (truth - denoised).ravel()
        flat = free.astype(np.int64).ravel()
        for level in np.unique(flat):  # an independent draw with the same noise at each signal level
            at = np.nonzero(flat == level)[0]
            residual[at] = residual[rng.permutation(at)]
        as_image = lambda v: np.clip(np.rint(v), 0, 255)
        print(f"{x} -> {y} | {score(truth, as_image(denoised))} | "
              f"{score(truth, as_image(denoised + residual.reshape(truth.shape)))} | "
              f"{score(truth, as_image(level_means(source, truth)))}")


if __name__ == "__main__":
    main()
