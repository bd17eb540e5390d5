"""Kernel tests: an output a kernel forgot to write must fail the comparison, not pass by luck."""

import pytest
import torch


class NaNTorch:
    """`torch` for a kernel module, with `empty`/`empty_like` filled with NaN."""

    def __getattr__(self, name: str):
        return getattr(torch, name)

    @staticmethod
    def empty(*args, **kwargs) -> torch.Tensor:
        return torch.empty(*args, **kwargs).fill_(float("nan"))

    @staticmethod
    def empty_like(*args, **kwargs) -> torch.Tensor:
        return torch.empty_like(*args, **kwargs).fill_(float("nan"))


@pytest.fixture
def nan_outputs(monkeypatch):
    """Call with a kernel module: its `torch.empty` outputs start as NaN."""
    return lambda module: monkeypatch.setattr(module, "torch", NaNTorch())
