#!/usr/bin/python3
"""Scores translations averaged over mirrored and shifted copies of each input, against the truth.

    tools/average-probe.py CHECKPOINT SRC_DIR TRUTH_DIR a2b|b2a WORK_DIR [--mrigan build/mrigan]

Each input slice (PNG) is mirrored left-right and/or rolled by a few pixels (what leaves the slice on one side comes
back on the other: the background), translated one pass at a time (`--flip-average off`), and the outputs undone
and averaged in the combinations printed. Inputs and truths are paired in sorted name order. PSNR and SSIM as
`mrigan eval` (peak 255; SSIM as scikit-image with an 11x11 Gaussian window, sigma 1.5), means over the slices, of
the averages rounded to gray levels. Needs numpy, Pillow and scikit-image (Debian's python3-skimage).
"""
import argparse
import glob
import os
import subprocess

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

COPIES = [(0, 0, 0), (1, 0, 0), (0, 1, 1), (1, 1, 1), (0, 2, 2), (1, 2, 2), (0, 1, 0), (0, 0, 1)]  # mirror, dy, dx
COMBINATIONS = {
    "one pass": [(0, 0, 0)],
    "shifted (1, 1) only": [(0, 1, 1)],
    "mirror": [(0, 0, 0), (1, 0, 0)],
    "shifts (0,0) (1,1)": [(0, 0, 0), (0, 1, 1)],
    "shifts (0,0) (1,1) (1,0) (0,1)": [(0, 0, 0), (0, 1, 1), (0, 1, 0), (0, 0, 1)],
    "shifts (0,0) (1,1) (2,2)": [(0, 0, 0), (0, 1, 1), (0, 2, 2)],
    "mirror x shifts (0,0) (1,1)": [(0, 0, 0), (1, 0, 0), (0, 1, 1), (1, 1, 1)],
    "mirror x shifts (0,0) (1,1) (2,2)": [(0, 0, 0), (1, 0, 0), (0, 1, 1), (1, 1, 1), (0, 2, 2), (1, 2, 2)],
    "all 8": COPIES,
}


def load(path):
    return np.asarray(Image.open(path).convert("L"))


def translate(args, files, copy):
    mirror, dy, dx = copy
    tag = "m%d_%d_%d" % copy
    src, dst = os.path.join(args.work, "in-" + tag), os.path.join(args.work, "out-" + tag)
    os.makedirs(src, exist_ok=True)
    os.makedirs(dst, exist_ok=True)
    for f in files:
        x = load(f)
        x = np.roll(x[:, ::-1] if mirror else x, (dy, dx), axis=(0, 1))
        Image.fromarray(np.ascontiguousarray(x)).save(os.path.join(src, os.path.basename(f)))
    subprocess.run([args.mrigan, "translate", "--checkpoint", args.checkpoint, "--direction", args.direction,
                    "--flip-average", "off", "--out", dst, "--overwrite", src],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outs = sorted(glob.glob(os.path.join(dst, "*.png")))
    assert len(outs) == len(files), "%s: %d outputs for %d inputs" % (dst, len(outs), len(files))
    result = []
    for g in outs:
        y = np.roll(load(g).astype(np.float64), (-dy, -dx), axis=(0, 1))
        result.append(y[:, ::-1] if mirror else y)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("src")
    p.add_argument("truth")
    p.add_argument("direction", choices=["a2b", "b2a"])
    p.add_argument("work")
    p.add_argument("--mrigan", default="build/mrigan")
    args = p.parse_args()
    files = sorted(glob.glob(os.path.join(args.src, "*.png")))
    truths = [load(f).astype(np.float64) for f in sorted(glob.glob(os.path.join(args.truth, "*.png")))]
    if not files or len(files) != len(truths):
        raise SystemExit("%s and %s: %d inputs, %d truths" % (args.src, args.truth, len(files), len(truths)))
    outs = {c: translate(args, files, c) for c in COPIES}
    for name, copies in COMBINATIONS.items():
        scores = []
        for i, t in enumerate(truths):
            y = np.round(np.mean([outs[c][i] for c in copies], axis=0))
            scores.append((peak_signal_noise_ratio(t, y, data_range=255),
                           structural_similarity(t, y, data_range=255, gaussian_weights=True, sigma=1.5,
                                                 use_sample_covariance=False)))
        s = np.array(scores)
        print("%-36s %.2f / %.3f" % (name, s[:, 0].mean(), s[:, 1].mean()))


if __name__ == "__main__":
    main()
