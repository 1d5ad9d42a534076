#!/usr/bin/python3
"""What a model draws along the slice's edges: the mean of its translations against the mean of the truths.

Usage (needs NumPy and Pillow, e.g. Debian's python3-pil; nothing in the build or the tests needs it):

    build/mrigan bench quality --sets phantom --train --seed 1 --bench-out RUN
    build/mrigan translate --checkpoint RUN/phantom/run/latest.ckpt --direction a2b --out SYNTH \\
        RUN/phantom-data/T1
    /usr/bin/python3 tools/edge-band.py SYNTH RUN/phantom-data/T2 [BAND] [--png OUT]

Averaging the translations of every slice keeps what does not depend on the slice: the anatomy's mean, and
whatever the model puts at the same place on every slice. Along the edges, where the whole-head phantom has only
background noise, the truths' mean is flat; stripes parallel to the edges show in the translations' mean as rows
and columns that differ from their neighbours. For the band of BAND pixels (20) along the four edges it prints, on
the 8-bit gray levels: the mean |difference| between the two means, the band's mean and standard deviation in
each, and the mean of each of the outermost BAND rows (top) and columns (left) of the translations' mean. With
--png it also writes the two means side by side, their gray levels times 4 (clipped), so that the background shows.
"""
import glob
import os
import sys

import numpy as np
from PIL import Image


def mean_of(folder):
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    if not files:
        sys.exit(f"edge-band: {folder}: no PNG files")
    return np.mean([np.asarray(Image.open(f).convert("L"), dtype=np.float64) for f in files], axis=0), len(files)


def main():
    args, png = sys.argv[1:], None
    if "--png" in args:
        at = args.index("--png")
        if at + 1 >= len(args):
            sys.exit("edge-band: --png needs a file name")
        png = args.pop(at + 1)
        args.pop(at)
    if len(args) not in (2, 3):
        sys.exit(__doc__)
    synth, n = mean_of(args[0])
    truth, m = mean_of(args[1])
    band = int(args[2]) if len(args) == 3 else 20
    if synth.shape != truth.shape or min(synth.shape) <= 2 * band:
        sys.exit(f"edge-band: slices of {synth.shape} and {truth.shape}: not one size, or too small for {band} px")
    mask = np.zeros(synth.shape, bool)
    mask[:band] = mask[-band:] = True
    mask[:, :band] = mask[:, -band:] = True
    diff = np.abs(synth - truth)[mask]
    print(f"{n} translations, {m} truths, band {band} px")
    print(f"mean |difference| {diff.mean():.2f}, largest {diff.max():.1f}")
    print(f"band mean / sd: translations {synth[mask].mean():.2f} / {synth[mask].std():.2f}, "
          f"truths {truth[mask].mean():.2f} / {truth[mask].std():.2f}")
    print("top rows:    " + " ".join(f"{v:.1f}" for v in synth[:band].mean(axis=1)))
    print("left columns: " + " ".join(f"{v:.1f}" for v in synth[:, :band].mean(axis=0)))
    if png:
        gap = np.full((synth.shape[0], 4), 255.0)
        both = np.clip(np.concatenate([synth, gap, truth], axis=1) * 4, 0, 255)
        Image.fromarray(both.astype(np.uint8)).save(png)


if __name__ == "__main__":
    main()
