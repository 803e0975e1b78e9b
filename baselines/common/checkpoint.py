"""Checkpoints: the network, the optimizer, the run's config and counters, and the RNG states.

A checkpoint is one ``torch.save`` file holding only tensors and plain Python values, so it loads
with ``torch.load(weights_only=True)``. NumPy arrays inside the config (for example a fixed goal
passed as an env keyword) are stored as ``{"__ndarray__": nested list, "dtype": name}`` and
turned back into arrays by :func:`from_plain`.
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from baselines.common.networks import ObservationSpec
from baselines.common.seeding import rng_state, set_rng_state

CHECKPOINT_FORMAT = "mbag-baselines-checkpoint-v1"
"""Written into every checkpoint; :func:`load_checkpoint` refuses other files."""

ConfigT = TypeVar("ConfigT")

REQUIRED_KEYS = (
    "format",
    "algorithm",
    "config",
    "observation_spec",
    "network_config",
    "model",
    "global_step",
)


def to_plain(value: Any) -> Any:
    """``value`` with NumPy arrays/scalars and tuples replaced by plain, ``weights_only``-safe values."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"cannot store a value of type {type(value).__name__} in a checkpoint config; "
        "use numbers, strings, lists, dicts or numpy arrays"
    )


def from_plain(value: Any) -> Any:
    """Inverse of :func:`to_plain` (arrays come back as arrays; tuples as lists)."""
    if isinstance(value, dict):
        if set(value) == {"__ndarray__", "dtype"}:
            return np.asarray(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
        return {key: from_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_plain(item) for item in value]
    return value


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (empty, truncated, corrupt, or of another format)."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (see :data:`REQUIRED_KEYS`) atomically to ``path``.

    The format tag is added here. The file is written beside ``path`` first and then renamed, so
    an interrupted save never leaves a truncated checkpoint.

    Raises:
        ValueError: if a required key is missing.
    """
    missing = [key for key in REQUIRED_KEYS if key != "format" and key not in payload]
    if missing:
        raise ValueError(f"checkpoint payload is missing {missing}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, **payload}, temporary)
    os.replace(temporary, path)
    return path


def save_training_checkpoint(
    path: str | Path,
    algorithm: str,
    config: Any,
    spec: ObservationSpec,
    network_config: dict[str, Any],
    model: torch.nn.Module,
    optimizer_state: dict[str, Any],
    global_step: int,
    **extra: Any,
) -> Path:
    """Save a training run's checkpoint (see :func:`save_checkpoint`): its ``algorithm``, ``config``
    dataclass, observation spec, network sizes and weights, optimizer state, env step count and the
    RNG states, plus the ``extra`` entries (the iteration, an algorithm's own counters or sizes)."""
    return save_checkpoint(
        path,
        {
            "algorithm": algorithm,
            "config": to_plain(asdict(config)),
            "observation_spec": spec.to_dict(),
            "network_config": network_config,
            **extra,
            "model": model.state_dict(),
            "optimizer": optimizer_state,
            "global_step": global_step,
            "rng": rng_state(),
        },
    )


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        CheckpointError: (a ``ValueError``) if the file is empty, truncated, corrupt, or not a
            checkpoint of this format; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises many types for a damaged file (EOFError, KeyError, ...)
        reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is damaged or not one ({reason})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not an mbag baselines checkpoint (expected format {CHECKPOINT_FORMAT!r})"
        )
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} is missing {missing}")
    return payload


def config_from_checkpoint(
    path: str | Path, config_class: type[ConfigT], algorithm: str, overrides: dict[str, Any] | None = None
) -> ConfigT:
    """The ``config_class`` dataclass stored in an ``algorithm`` checkpoint, with some fields replaced.

    Stored fields the class no longer has are dropped.

    Raises:
        ValueError: if the checkpoint is another algorithm's or an override names no field.
    """
    payload = load_checkpoint(path)
    if payload["algorithm"] != algorithm:
        raise ValueError(f"{path} is a {payload['algorithm']!r} checkpoint, not a {algorithm!r} one")
    known = {field.name for field in fields(config_class)}  # type: ignore[arg-type]
    unknown = set(overrides or {}) - known
    if unknown:
        raise ValueError(f"unknown {config_class.__name__} fields {sorted(unknown)}")
    stored = from_plain(payload["config"])
    return config_class(
        **{key: value for key, value in stored.items() if key in known} | dict(overrides or {})
    )


def resume_checkpoint(
    run_dir: str | Path,
    resume: str | Path | None,
    spec: ObservationSpec,
    env_id: str,
    device: str | torch.device = "cpu",
) -> dict[str, Any] | None:
    """The start of a training run: for a fresh one (``resume=None``), check that ``run_dir`` holds no
    log yet; when resuming, load the checkpoint, check that it was trained on ``spec`` and restore
    its RNG states. The caller restores its network, optimizer and counters from what this returns.

    Returns:
        The loaded checkpoint, or ``None`` for a fresh run.

    Raises:
        FileExistsError: if a fresh run would write into a folder that already holds a log.
        ValueError: if the checkpoint was trained on other spaces than ``env_id`` has now (and see
            :func:`load_checkpoint`).
    """
    run_dir = Path(run_dir)
    if resume is None:
        if (run_dir / "progress.csv").exists():
            raise FileExistsError(
                f"{run_dir} already holds a run (progress.csv); pass another --run-dir, or --resume "
                f"{run_dir / 'checkpoints' / 'last.pt'} to continue it"
            )
        return None
    payload = load_checkpoint(resume, map_location=device)
    if ObservationSpec.from_dict(payload["observation_spec"]) != spec:
        raise ValueError(f"checkpoint {resume} was trained on other spaces than {env_id} has now")
    set_rng_state(payload["rng"])
    return payload
