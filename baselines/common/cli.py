"""Command-line options generated from a training config dataclass: one flag per field."""

from __future__ import annotations

import argparse
import json
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, Generic, TypeVar

from baselines.common.checkpoint import config_from_checkpoint as stored_config

ENV_KWARGS_HELP = 'env keyword arguments as JSON, e.g. \'{"goal": "houses:test", "horizon": 100}\''

HIDDEN_ALIASES: dict[str, tuple[str, ...]] = {
    "total_steps": ("--total-env-steps",),
    "total_env_steps": ("--total-steps",),
}
"""Extra flags, left out of ``--help``, for some config fields: the training budget is
``--total-steps`` in PPO, PPO over options, option-critic and DreamerV3 and ``--total-env-steps`` in
AssistanceZero (its config field), and each accepts the other's name too."""


def option_flag(name: str) -> str:
    """The flag of config field ``name``: ``--env`` for ``env_id``, else dashes for underscores
    without a trailing underscore (``lambda_`` -> ``--lambda``)."""
    return "--env" if name == "env_id" else "--" + name.rstrip("_").replace("_", "-")


def _value_type(hint: Any) -> Any:
    """``X`` for ``X`` or ``X | None``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kinds = [kind for kind in typing.get_args(hint) if kind is not type(None)]
        if len(kinds) == 1:
            return kinds[0]
    return hint


def add_config_options(
    parser: argparse.ArgumentParser,
    config_class: type,
    *,
    defaults: bool = True,
    skip: Collection[str] = (),
    helps: Mapping[str, str] | None = None,
) -> None:
    """Add one option per field of the dataclass ``config_class`` to ``parser``.

    ``bool`` fields become ``--x/--no-x``, ``dict`` fields take JSON, ``int``/``float``/``str``
    fields (optionally ``| None``) take a value of that type.

    Args:
        parser: the parser to extend.
        config_class: a dataclass whose fields all have defaults.
        defaults: ``True``: each option defaults to the field's default; ``False``: an option not
            given is absent from the parsed namespace (a preset or checkpoint decides).
        skip: fields that get no option (the caller adds its own).
        helps: help texts by field name, over those of the fields' ``metadata["help"]`` (``env_kwargs``
            has one already).

    Raises:
        TypeError: for a field whose type has no command-line form.
    """
    hints = typing.get_type_hints(config_class)
    texts = {"env_kwargs": ENV_KWARGS_HELP, **(helps or {})}
    for item in fields(config_class):
        if item.name in skip:
            continue
        if not defaults:
            default: Any = argparse.SUPPRESS
        elif item.default is not MISSING:
            default = item.default
        else:
            default = item.default_factory()  # type: ignore[misc]
        kind = _value_type(hints[item.name])
        help_text = texts.get(item.name, item.metadata.get("help"))
        options: dict[str, Any] = {"dest": item.name, "default": default, "help": help_text}
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is dict or kind is dict:
            options["type"] = json.loads
        elif kind in (int, float, str):
            options["type"] = kind
        else:
            raise TypeError(f"{config_class.__name__}.{item.name} has type {kind}, which has no option form")
        parser.add_argument(option_flag(item.name), **options)
        for alias in HIDDEN_ALIASES.get(item.name, ()):
            parser.add_argument(alias, **{**options, "default": argparse.SUPPRESS, "help": argparse.SUPPRESS})


RESUME_HELP = "checkpoint to continue from (its config is used; options given here override it)"


def training_parser(
    prog: str,
    description: str,
    config_class: type,
    defaults: bool = True,
) -> argparse.ArgumentParser:
    """A baseline's training command line: one option per ``config_class`` field and ``--resume``
    (with ``defaults=False`` every option defaults to 'not given', which is how :func:`run_training`
    tells the options given on a resumed run)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, argument_default=None if defaults else argparse.SUPPRESS
    )
    add_config_options(parser, config_class, defaults=defaults)
    parser.add_argument("--resume", default=None if defaults else argparse.SUPPRESS, help=RESUME_HELP)
    return parser


def run_training(
    argv: Sequence[str] | None,
    build_parser: Callable[[bool], argparse.ArgumentParser],
    config_class: Callable[..., Any],
    config_from_checkpoint: Callable[[str, dict[str, Any]], Any],
    train: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """Every baseline's ``main``: parse ``argv`` with ``build_parser(defaults)``, build the config
    (or, with ``--resume``, the checkpoint's config with the options given here overriding it),
    train, print the summary as JSON and return it."""
    args = vars(build_parser(True).parse_args(argv))
    resume = args.pop("resume")
    if resume is None:
        config = config_class(**args)
    else:
        given = vars(build_parser(False).parse_args(argv))
        given.pop("resume", None)
        config = config_from_checkpoint(resume, given)
    summary = train(config, resume=resume)
    print(json.dumps(summary, indent=2))
    return summary


ConfigT = TypeVar("ConfigT")


@dataclass(frozen=True)
class TrainingCommand(Generic[ConfigT]):
    """A baseline's training command line (``python -m <prog>``), built from its config dataclass and
    ``train`` function; its module exposes :meth:`config_from_checkpoint` and :meth:`main` under those
    names (``--help`` takes each option's text from its field's ``metadata["help"]``).

    Args:
        prog: the program name in ``--help``.
        description: the parser's description.
        config_class: the run's config dataclass (one option per field).
        algorithm: the ``algorithm`` name its checkpoints store.
        train: ``train(config, resume=checkpoint or None) -> summary``.
    """

    prog: str
    description: str
    config_class: type[ConfigT]
    algorithm: str
    train: Callable[..., dict[str, Any]]

    def config_from_checkpoint(self, path: str | Path, overrides: dict[str, Any] | None = None) -> ConfigT:
        """The config stored in a checkpoint of this algorithm, with some fields replaced.

        Raises:
            ValueError: for another algorithm's checkpoint or an unknown field.
        """
        return stored_config(path, self.config_class, self.algorithm, overrides)

    def build_parser(self, defaults: bool = True) -> argparse.ArgumentParser:
        """The command-line parser: one option per config field and ``--resume`` (with
        ``defaults=False`` every option defaults to 'not given')."""
        return training_parser(self.prog, self.description, self.config_class, defaults)

    def main(self, argv: Sequence[str] | None = None) -> dict[str, Any]:
        """Command-line entry point: train as ``argv`` says and return the summary (see
        :func:`run_training`)."""
        return run_training(
            argv, self.build_parser, self.config_class, self.config_from_checkpoint, self.train
        )
