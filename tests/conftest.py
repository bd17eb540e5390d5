"""Test-session setup that must happen before any test module imports triton.

Without a GPU, Triton kernels run on CPU tensors through Triton's interpreter, which `triton.jit`
reads when it decorates a kernel, i.e. when triton (or lightning, which imports it) is first
imported. Switching it on here, before collection, covers every test module.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
