"""Where the model runs: device and precision choice, CPU features, machine identity.

One module, so that training, inference and export agree on what `auto` means.
"""

from __future__ import annotations

import os

from .errors import UnsupportedSetting

DEVICES = ("auto", "cpu", "cuda", "mps")
TRAIN_PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def pick_device(device: str) -> str:
    """'auto' -> cuda, then mps, then cpu; an explicit device must be available."""
    if device not in DEVICES:
        raise UnsupportedSetting(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "cpu":
        return device
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UnsupportedSetting("device cuda: no CUDA device is visible to torch (use --device cpu or auto)")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UnsupportedSetting("device mps: no Apple GPU is visible to torch (use --device cpu or auto)")
    return device


def pick_training_precision(precision: str, device: str) -> str:
    """'auto' -> bf16 (or fp16) autocast on CUDA; bf16 on a CPU with native bf16 kernels, where it trains the
    student 1.5x as fast (benchmarks/bench_training.py) to the same validation figures; fp32 elsewhere."""
    import torch

    if precision not in TRAIN_PRECISIONS:
        raise UnsupportedSetting(f"precision must be one of {', '.join(TRAIN_PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        if device == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if device == "cpu" and cpu_supports_bf16() else "fp32"
    if precision == "fp16" and device != "cuda":
        raise UnsupportedSetting("precision fp16 needs a CUDA device; on a CPU use fp32 or bf16")
    return precision


def cpu_supports_bf16() -> bool:
    """True where oneDNN has native bf16 kernels (AVX512-BF16 / AMX); elsewhere bf16 is emulated and slow."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def machine_id() -> str:
    """CPU model and core count: speeds measured on one machine say nothing about another."""
    model = "unknown cpu"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model} x{os.cpu_count()}"
