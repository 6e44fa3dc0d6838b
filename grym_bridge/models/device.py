"""Choosing where a model runs. Imports torch only when called."""

from __future__ import annotations

from typing import Any


def pick_device(preferred: str = "auto") -> str:
    """`cuda`, `mps` or `cpu`: the best present, or `preferred` when it is not `auto`."""
    if preferred != "auto":
        return preferred
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, preferred: str = "auto") -> Any:
    """fp16 on cuda and mps (bf16 where the GPU supports it and `preferred` asks), fp32 on cpu."""
    import torch

    if preferred != "auto":
        return getattr(torch, preferred)
    if device == "cuda":
        return torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32
