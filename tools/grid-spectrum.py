#!/usr/bin/python3
"""How much of a regular grid a translated volume carries: the energy at the periods of a pixel grid, against the truth.

Usage (needs NumPy, SciPy and NiBabel, e.g. Debian's python3-scipy and python3-nibabel; nothing in the build or the
tests needs them):

    build/mrigan translate --checkpoint RUN/latest.ckpt --direction a2b --float --out OUT \
        ../shared/data/paired/open-ms/nifti/patient07_T1.nii.gz
    /usr/bin/python3 tools/grid-spectrum.py OUT/patient07_T2.nii.gz \
        ../shared/data/paired/open-ms/nifti/patient07_T2.nii.gz

Each volume is scaled by its 99th percentile of non-zero voxels; each axial slice (third voxel axis) with anything
above 0.1 is high-passed (the slice less its Gaussian blur of sigma 2 pixels) and the power spectra of the slices are
summed. For each frequency of a grid of two or four pixels along the first axis, the second or both, it prints the
translation's power over the truth's, each summed over the 3x3 bins around that frequency: 1 when the translation
has as much energy there as the truth, far above 1 when it carries a pattern of that period. Last, the ratio of all
high-passed energy.
"""
import sys

import nibabel as nib
import numpy as np
from scipy.ndimage import gaussian_filter

FREQUENCIES = [(0.5, 0), (0, 0.5), (0.5, 0.5), (0.25, 0), (0, 0.25), (0.25, 0.25), (0.25, -0.25)]


def summed_spectrum(path):
    v = nib.load(path).get_fdata().astype(float)
    v = v / np.percentile(v[v > 0], 99)
    total = None
    for z in range(v.shape[2]):
        s = v[:, :, z]
        if s.max() < 0.1:
            continue
        p = np.abs(np.fft.fft2(s - gaussian_filter(s, 2))) ** 2
        total = p if total is None else total + p
    return total


def band(p, fy, fx):
    h, w = p.shape
    y, x = int(round(fy * h)) % h, int(round(fx * w)) % w
    return sum(p[(y + dy) % h, (x + dx) % w] for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = summed_spectrum(sys.argv[1]), summed_spectrum(sys.argv[2])
    if a is None or b is None or a.shape != b.shape:
        sys.exit("grid-spectrum: the two volumes need the same grid and some anatomy")
    for fy, fx in FREQUENCIES:
        period = lambda f: "%d" % round(1 / abs(f)) if f else "-"
        print("period (%s, %s) pixels: translation / truth power %.2f" % (period(fy), period(fx),
                                                                        band(a, fy, fx) / band(b, fy, fx)))
    print("all high-passed energy: translation / truth %.2f" % (a.sum() / b.sum()))


if __name__ == "__main__":
    main()
