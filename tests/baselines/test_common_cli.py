"""The config-dataclass → command-line options helper shared by every baseline's CLI."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import pytest

from baselines.common.cli import add_config_options, option_flag


@dataclass
class ExampleConfig:
    env_id: str = "mbag/Build-Small-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    total_steps: int = 100
    lambda_: float = 0.95
    target_kl: float | None = None
    progress: bool = True


def parser(defaults: bool = True, **options: Any) -> argparse.ArgumentParser:
    result = argparse.ArgumentParser()
    add_config_options(result, ExampleConfig, defaults=defaults, **options)
    return result


def test_every_field_gets_a_typed_option_with_its_default() -> None:
    assert vars(parser().parse_args([])) == vars(ExampleConfig())
    args = parser().parse_args(
        ["--env", "mbag/Assist-v0", "--env-kwargs", '{"horizon": 9}', "--total-steps", "7", "--lambda", "0.5"]
        + ["--target-kl", "0.01", "--no-progress"]
    )
    assert ExampleConfig(**vars(args)) == ExampleConfig(
        "mbag/Assist-v0", {"horizon": 9}, 7, 0.5, 0.01, progress=False
    )


def test_without_defaults_only_given_options_are_parsed() -> None:
    assert vars(parser(defaults=False).parse_args(["--total-steps", "3"])) == {"total_steps": 3}


def test_skipped_fields_get_no_option_and_bad_values_are_rejected() -> None:
    with pytest.raises(SystemExit):
        parser(skip=("total_steps",)).parse_args(["--total-steps", "3"])
    with pytest.raises(SystemExit):
        parser().parse_args(["--total-steps", "many"])
    assert option_flag("env_id") == "--env" and option_flag("gae_lambda") == "--gae-lambda"


def test_a_field_without_a_command_line_form_is_an_error() -> None:
    @dataclass
    class Bad:
        sizes: tuple[int, ...] = (1, 2)

    with pytest.raises(TypeError, match="sizes"):
        add_config_options(argparse.ArgumentParser(), Bad)


def test_total_env_steps_is_a_hidden_alias_of_total_steps() -> None:
    assert parser().parse_args(["--total-env-steps", "7"]).total_steps == 7
    assert parser().parse_args([]).total_steps == 100
    assert vars(parser(defaults=False).parse_args(["--total-env-steps", "3"])) == {"total_steps": 3}
    assert vars(parser(defaults=False).parse_args([])) == {}
    assert "--total-steps" in parser().format_help() and "--total-env-steps" not in parser().format_help()
