"""Seeding, device choice and CPU thread count for the baselines."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def sampling_generator(device: torch.device, seed: int | None = None) -> torch.Generator:
    """A torch generator on ``device`` for a policy's action sampling: seeded with ``seed``, or
    from fresh entropy when ``seed`` is ``None``."""
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def seed_everything(seed: int, deterministic_torch: bool = False) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA).

    Args:
        seed: the seed.
        deterministic_torch: also ask cuDNN for deterministic kernels (slower on GPU).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic_torch:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def select_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; otherwise the named device.

    Raises:
        ValueError: if CUDA is named but not available.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was requested but CUDA is not available; use 'cpu' or 'auto'")
    return device


def set_torch_threads(threads: int) -> None:
    """Limit torch's intra-op CPU threads (``threads <= 0`` leaves torch's default).

    On a small shared machine one thread is usually fastest overall for these small networks.
    """
    if threads > 0:
        torch.set_num_threads(threads)


def setup_torch(config: Any) -> torch.device:
    """The start of a training run: limit torch's CPU threads to ``config.torch_threads``, seed every
    RNG with ``config.seed`` and return the device ``config.device`` names (see :func:`select_device`).
    """
    set_torch_threads(config.torch_threads)
    device = select_device(config.device)
    seed_everything(config.seed)
    return device


def rng_state() -> dict[str, Any]:
    """The global RNG states of ``random``, NumPy and torch (CPU, and CUDA when present)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore states captured by :func:`rng_state`.

    Raises:
        ValueError: if an entry is missing.
    """
    for key in ("python", "numpy", "torch"):
        if key not in state:
            raise ValueError(f"RNG state is missing the {key!r} entry")
    python_state = state["python"]
    random.setstate((python_state[0], tuple(python_state[1]), python_state[2]))
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            np.asarray(numpy_state["key"], dtype=np.uint32),
            int(numpy_state["pos"]),
            int(numpy_state["has_gauss"]),
            float(numpy_state["cached_gaussian"]),
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["torch_cuda"]])


def _numpy_state() -> dict[str, Any]:
    """NumPy's legacy global state as plain Python values (loadable with ``weights_only=True``)."""
    _, key, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    return {
        "key": [int(k) for k in key],
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached_gaussian),
    }
