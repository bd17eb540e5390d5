"""torch.compile for the parts of a block around its kernels (`seqmodels fit compile=true`).

The selective scan and the causal conv are this package's own kernels (Triton on a GPU, numba or
torch loops on the CPU): torch.compile cannot trace them, and a compiled graph would break at
each. What lies between them is plain torch, and that is what is compiled, region by region:
the residual add and RMSNorm of every block; in an SSM block the in-projection and its split,
SiLU with the x- and Δ-projections, and the out-projection; in an attention block the q/k/v
projection with the rotary embedding, and the MLP with its add and norm. Compiling fuses their
elementwise work and the layout copies into fewer kernels. Each region is compiled whole
(fullgraph), so a change that would make one break shows as an error, not as a slow path.

Weights, state dicts, checkpoints and exported models are the same with and without it. The
first steps at each new sequence length compile (lengths that change every epoch, as in the
training-length warm-up, compile once more, as dynamic shapes); on the CPU, torch.compile needs
a C++ compiler.
"""

from __future__ import annotations

import os
import shutil

import torch
from torch import nn

from seqmodels.errors import UserError
from seqmodels.models.attention import Attention, AttentionBlock
from seqmodels.models.block import Block
from seqmodels.models.mixer import MambaMixer

# (module type, its methods that are plain torch between the kernels)
REGIONS: tuple[tuple[type[nn.Module], tuple[str, ...]], ...] = (
    (Block, ("_add_and_norm",)),
    (AttentionBlock, ("_mlp",)),
    (MambaMixer, ("_project_in", "_activate_and_project", "_project_out")),
    (Attention, ("_heads",)),
)


def check_compiler(device: str) -> None:
    """A one-line UserError when torch.compile cannot work here: on the CPU its code generator
    (inductor) builds C++ and needs a compiler."""
    if device != "cpu":
        return
    names = [os.environ.get("CXX", ""), "g++", "clang++", "c++"]
    if not any(name and shutil.which(name) for name in names):
        raise UserError(
            "compile=true on the CPU needs a C++ compiler (g++ or clang++; or set CXX): "
            "install one, or leave compile=false"
        )


def compile_blocks(model: nn.Module) -> int:
    """Replace the plain-torch regions of every block of `model` by torch.compile'd versions
    (in place, on the instances); returns how many were compiled."""
    count = 0
    for module in model.modules():
        for kind, methods in REGIONS:
            if isinstance(module, kind):
                for name in methods:
                    setattr(module, name, torch.compile(getattr(module, name), fullgraph=True))
                    count += 1
    return count
