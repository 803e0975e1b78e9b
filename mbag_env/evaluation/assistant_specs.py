"""Assistant specs of the leaderboard: parse ``idle``/``random``/``oracle``/``bayes``, checkpoint
paths and ``module:factory`` import paths (optionally ``label=spec``), and build a policy from one.

``mbag_env`` names no learning code. A package that writes checkpoints registers a loader for their
file suffix in its packaging metadata, under the entry point group :data:`POLICY_LOADERS` with a
``module:function`` value; this repository's ``pyproject.toml`` registers the baselines' loader::

    [project.entry-points."mbag_env.policy_loaders"]
    pt = "baselines.common.policy:load_policy"

The loader is called as ``load(path, seed=seed)`` (``seed`` only if it takes one) and returns a
policy. A ``.pt`` spec without a registered loader fails with a message saying so.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from mbag_env.assistants.bayes import parse_bayes_spec
from mbag_env.envs.single import MbagEnv
from mbag_env.evaluation.assistants import is_scripted_assistant, make_scripted_assistant
from mbag_env.humans.policy import Policy, as_policy
from mbag_env.humans.scripted import HumanModel

POLICY_LOADERS = "mbag_env.policy_loaders"
"""The entry point group of checkpoint loaders: name = a file suffix without its dot (``pt``),
value = ``module:function(path, seed=...)`` returning a policy."""

DEFAULT_CHECKPOINT_SUFFIX = ".pt"
"""Read as a checkpoint path even when no loader is registered for it, to say what is missing."""


class AssistantSpecError(ValueError):
    """An assistant spec that cannot be used (the message says why and what is accepted)."""


SPEC_HELP = (
    "an assistant is idle, random, oracle, bayes (or bayes:threshold=0.6,epsilon=0.1,prior=default), "
    "a checkpoint path ending in .pt, or module:factory "
    "(optionally prefixed with label=)"
)


@dataclass(frozen=True)
class AssistantSpec:
    """A parsed assistant spec (see :mod:`mbag_env.evaluation.leaderboard` for the forms).

    Attributes:
        text: the spec as given.
        label: the name shown in the tables.
        kind: ``"scripted"``, ``"checkpoint"`` or ``"factory"``.
        target: the scripted name, the checkpoint path, or ``module:factory``.
    """

    text: str
    label: str
    kind: str
    target: str

    def build(self, env: MbagEnv, seed: int) -> Policy:
        """A fresh policy for one episode in ``env``, seeded with ``seed``.

        Raises:
            AssistantSpecError: if the checkpoint or factory cannot be loaded or returns no policy.
        """
        if self.kind == "scripted":
            return make_scripted_assistant(self.target, env, seed)
        if self.kind == "checkpoint":
            load_policy = checkpoint_loader(self.target)
            try:
                return _call_with_optional(load_policy, (self.target,), {"seed": seed})
            except Exception as error:  # torch raises many types for a bad file; name the file
                raise AssistantSpecError(
                    f"cannot load checkpoint {self.target}: {type(error).__name__}: {error}"
                ) from error
        factory = _import_factory(self.target)
        policy = _call_with_optional(factory, (), {"env": env, "seed": seed})
        normalised = as_policy(policy) if (callable(policy) or isinstance(policy, Policy)) else None
        if normalised is None or isinstance(normalised, HumanModel):
            raise AssistantSpecError(
                f"{self.target} returned {policy!r}, not a policy "
                "(an object with act(observation), or a callable)"
            )
        return normalised


def parse_assistant_spec(text: str) -> AssistantSpec:
    """Check an assistant spec and say what it names.

    Raises:
        AssistantSpecError: for a malformed spec, a missing checkpoint, a checkpoint suffix
            without a registered loader, or a factory that cannot be imported; the message
            names the spec.
    """
    original = text
    label, text = _split_label(text)
    if not text:
        raise AssistantSpecError(f"empty assistant spec {original!r}: {SPEC_HELP}")
    if is_scripted_assistant(text):
        if text.startswith("bayes:"):
            try:
                parse_bayes_spec(text)
            except ValueError as error:
                raise AssistantSpecError(f"assistant {original!r}: {error}") from None
        return AssistantSpec(original, label, "scripted", text)
    if is_checkpoint_path(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise AssistantSpecError(f"checkpoint {text!r} not found (no such file: {path.resolve()})")
        checkpoint_loader(str(path))
        return AssistantSpec(original, label, "checkpoint", str(path))
    module, colon, attribute = text.partition(":")
    if colon and module and attribute and all(part.isidentifier() for part in module.split(".")):
        _import_factory(text)
        return AssistantSpec(original, label, "factory", text)
    raise AssistantSpecError(f"malformed assistant spec {original!r}: {SPEC_HELP}")


def _split_label(text: str) -> tuple[str, str]:
    """``"label=spec"`` as ``("label", "spec")``; a spec without a label is its own label."""
    text = text.strip()
    label, equals, rest = text.partition("=")
    if equals and label and ":" not in label and "/" not in label:
        return label.strip(), rest.strip()
    return text, text


def names_a_module(text: str) -> bool:
    """Whether the spec ``text`` is (or tries to be) a ``module:factory`` spec."""
    _, spec = _split_label(text)
    return ":" in spec and not is_checkpoint_path(spec) and not is_scripted_assistant(spec)


@lru_cache(maxsize=1)
def registered_policy_loaders() -> dict[str, tuple[EntryPoint, ...]]:
    """The checkpoint loaders registered under :data:`POLICY_LOADERS`, by suffix (``".pt"``)."""
    loaders: dict[str, list[EntryPoint]] = {}
    for entry in entry_points(group=POLICY_LOADERS):
        loaders.setdefault("." + entry.name.lstrip("."), []).append(entry)
    return {suffix: tuple(entries) for suffix, entries in loaders.items()}


def is_checkpoint_path(spec: str) -> bool:
    """Whether ``spec`` names a checkpoint file: its suffix has a registered loader, or is ``.pt``."""
    suffix = Path(spec).suffix
    return bool(suffix) and (suffix == DEFAULT_CHECKPOINT_SUFFIX or suffix in registered_policy_loaders())


def checkpoint_loader(path: str) -> Callable[..., Any]:
    """The loader registered for ``path``'s suffix, or an :class:`AssistantSpecError` saying why not."""
    suffix = Path(path).suffix
    entries = registered_policy_loaders().get(suffix, ())
    if not entries:
        raise AssistantSpecError(
            f"no checkpoint loader is registered for {suffix} files (entry point group {POLICY_LOADERS!r}): "
            "this repository's baselines register theirs; run from the repository root after "
            "pip install -e '.[baselines]' (which also needs PyTorch)"
        )
    values = sorted({entry.value for entry in entries})
    if len(values) > 1:
        raise AssistantSpecError(f"several checkpoint loaders are registered for {suffix} files: {values}")
    entry = entries[0]
    try:
        loader = entry.load()
    except (ImportError, AttributeError) as error:
        raise AssistantSpecError(
            f"cannot import the checkpoint loader {entry.value} registered for {suffix} files: {error}"
        ) from error
    if not callable(loader):
        raise AssistantSpecError(
            f"the checkpoint loader {entry.value} registered for {suffix} files is not callable"
        )
    return loader


def _import_factory(target: str) -> Callable[..., Any]:
    """The callable ``module:factory`` names, or an :class:`AssistantSpecError` saying why not."""
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise AssistantSpecError(
            f"cannot import module {module_name!r} of assistant {target!r}: {error}"
        ) from error
    factory: Any = module
    for part in attribute.split("."):
        if not hasattr(factory, part):
            raise AssistantSpecError(
                f"module {module_name!r} has no attribute {attribute!r} (assistant {target!r})"
            )
        factory = getattr(factory, part)
    if not callable(factory):
        raise AssistantSpecError(f"{target!r} is not callable; it must be a factory returning a policy")
    return factory


def _call_with_optional(function: Callable[..., Any], args: tuple, optional: dict[str, Any]) -> Any:
    """Call ``function(*args, **those optional keywords its signature accepts)``."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return function(*args)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    keywords = {name: value for name, value in optional.items() if takes_any or name in parameters}
    return function(*args, **keywords)
