#!/usr/bin/env python3
"""The PyTorch reference CycleGAN's `bench` on a CUDA GPU, for tools/bench-gpu.sh.

usage: reference-cuda.py REFERENCE.py [--tf32] bench [the reference's bench options]

The reference (../shared/reference/cyclegan_ref.py) runs on the CPU only. Here every tensor it makes is made
on the GPU (torch.set_default_device), and its timer synchronises the device before it reads the clock, so
the times it prints are whole iterations and forwards, not the time to queue them. Without --tf32 its
convolutions and matrix products stay float32 (as mrigan's OpenCL backend computes); with it, PyTorch's own
default for cuDNN convolutions (TF32 on Ampere and later). A second JSON line gives the device, the peak
GPU memory PyTorch allocated and the TF32 setting.
"""
import importlib.util
import json
import sys
import time

import torch


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, rest = sys.argv[1], sys.argv[2:]
    tf32 = '--tf32' in rest
    rest = [a for a in rest if a != '--tf32']
    if not torch.cuda.is_available():
        sys.exit('reference-cuda: PyTorch sees no CUDA device')
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.set_default_device('cuda')
    spec = importlib.util.spec_from_file_location('cyclegan_ref', path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)

    class SyncedClock:  # the reference reads time.perf_counter() around each step and forward
        @staticmethod
        def perf_counter():
            torch.cuda.synchronize()
            return time.perf_counter()

    ref.time = SyncedClock
    sys.argv = [path] + rest
    ref.main()
    print(json.dumps({'device': torch.cuda.get_device_name(), 'torch': torch.__version__,
                      'cudnn': torch.backends.cudnn.version(), 'tf32': tf32,
                      'peak_gpu_mb': round(torch.cuda.max_memory_allocated() / 2**20, 1)}), flush=True)


if __name__ == '__main__':
    main()
