"""The leaderboard's numbers: rank the assistants and aggregate their episodes (:func:`summarise`), and
the paired per-episode differences to a reference assistant (:func:`paired_differences`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from mbag_env.evaluation.assistant_specs import AssistantSpec
from mbag_env.evaluation.metrics import SCALAR_METRICS, Estimate, mean_confidence_interval
from mbag_env.evaluation.suites import Suite

HEADLINE = "score_goal_percentage"
"""The metric the leaderboard ranks by: the goal percentage at the suite's score step."""

SECOND = "human_actions"
"""The second column: the human's actions until completion (or the horizon); lower is better."""


def summarise(
    suite: Suite,
    specs: Sequence[AssistantSpec],
    invalid: dict[str, str],
    results: Iterable[dict[str, Any]],
    base_seed: int,
    *,
    reference: str | None = "idle",
) -> dict[str, Any]:
    """The leaderboard as a JSON-ready dict: suite, ranked assistants with aggregated metrics
    (overall and per human), failures, paired differences to ``reference`` (``"paired"``, see
    :func:`paired_differences`; ``None`` when ``reference`` is ``None`` or not among ``specs``),
    and every episode's metrics (sorted, so deterministic)."""
    order = {spec.label: index for index, spec in enumerate(specs)}
    human_order = {human.label: index for index, human in enumerate(suite.humans)}
    episodes = sorted(
        results, key=lambda r: (order.get(r["assistant"], 0), human_order[r["human"]], r["house"], r["seed"])
    )
    rows = []
    for spec in specs:
        mine = [r for r in episodes if r["assistant"] == spec.label]
        ok = [r for r in mine if r["status"] == "ok"]
        failed = [r for r in mine if r["status"] != "ok"]
        summary = _aggregate_dicts([r["metrics"] for r in ok])
        per_human = {
            human.label: _aggregate_dicts([r["metrics"] for r in ok if r["human"] == human.label])
            for human in suite.humans
        }
        rows.append(
            {
                "assistant": spec.label,
                "spec": spec.text,
                "kind": spec.kind,
                "status": "ok" if not failed and len(ok) == suite.num_episodes else "incomplete",
                "episodes": len(ok),
                "failed": len(failed),
                "errors": sorted({r["error"] for r in failed})[:5],
                "metrics": {name: estimate.to_dict() for name, estimate in summary.items()},
                "per_human": {
                    label: {name: estimate.to_dict() for name, estimate in values.items()}
                    for label, values in per_human.items()
                },
            }
        )
    for text, message in invalid.items():
        rows.append(
            {
                "assistant": text,
                "spec": text,
                "kind": "invalid",
                "status": "invalid",
                "episodes": 0,
                "failed": suite.num_episodes,
                "errors": [message],
                "metrics": {},
                "per_human": {},
            }
        )
    rows.sort(key=_rank_key)
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    evaluated = [str(row["assistant"]) for row in rows if row["kind"] != "invalid"]  # in rank order
    paired = None
    if reference is not None and reference in evaluated:
        paired = paired_differences(
            episodes, reference, [human.label for human in suite.humans], assistants=evaluated
        )
    return {
        "leaderboard": "mbag_env assistant leaderboard",
        "headline": {
            "metric": HEADLINE,
            "description": f"mean goal percentage at step {suite.score_step} (95% CI)",
            "second": SECOND,
            "second_description": "human actions until completion or the horizon (lower is better)",
        },
        "suite": suite.describe(),
        "seed": base_seed,
        "assistants": rows,
        "paired": paired,
        "episodes": episodes,
    }


PAIRED_METRICS = (HEADLINE, SECOND)
"""The metrics of the paired differences: the headline goal percentage and the human's actions."""


def paired_differences(
    episodes: Iterable[dict[str, Any]] | dict[str, Any],
    reference: str,
    humans: Sequence[str],
    assistants: Sequence[str] | None = None,
    metrics: Sequence[str] = PAIRED_METRICS,
) -> dict[str, Any]:
    """Mean paired differences (assistant − ``reference``) with 95% Student-t intervals.

    Episodes are paired by ``(human, house, seed)``: every assistant plays the same episodes. A
    pair counts for a metric only when both episodes have ``status`` ``"ok"`` and the metric is
    not ``None`` in both; the interval is :func:`~mbag_env.evaluation.metrics.mean_confidence_interval`
    of the per-episode differences, so its ``n`` is the number of pairs.

    Args:
        episodes: episode results as written by :func:`~mbag_env.evaluation.episode_tasks.run_task`
            (``assistant``, ``human``, ``house``, ``seed``, ``status`` and, when ok, ``metrics``), or a
            board from :func:`summarise` (its ``"episodes"`` are used).
        reference: the label of the reference assistant.
        humans: the human labels of the per-human breakdown (the suite's, in order).
        assistants: the labels to compare, in output order (the reference is skipped); by
            default every assistant in ``episodes`` in order of appearance.
        metrics: the metrics to difference (default: :data:`PAIRED_METRICS`).

    Returns:
        ``{"reference": reference, "metrics": [...], "assistants": {label: {"overall": {metric:
        Estimate dict}, "per_human": {human: {metric: Estimate dict}}}}}``, the estimates as
        :meth:`~mbag_env.evaluation.metrics.Estimate.to_dict` (mean ``None`` when nothing paired).
    """
    results: list[dict[str, Any]] = list(episodes["episodes"] if isinstance(episodes, dict) else episodes)
    if assistants is None:
        assistants = list(dict.fromkeys(r["assistant"] for r in results))
    by_assistant: dict[str, dict[tuple[str, int, int], dict[str, Any]]] = {}
    for result in results:
        if result.get("status") == "ok":
            key = (result["human"], result["house"], result["seed"])
            by_assistant.setdefault(result["assistant"], {})[key] = result["metrics"]
    baseline = by_assistant.get(reference, {})

    def differences(
        mine: dict[tuple[str, int, int], dict[str, Any]], metric: str, human: str | None
    ) -> list[float]:
        values: list[float] = []
        for key, theirs in baseline.items():
            if (human is None or key[0] == human) and key in mine:
                own, base = mine[key].get(metric), theirs.get(metric)
                if own is not None and base is not None:
                    values.append(float(own) - float(base))
        return values

    compared: dict[str, Any] = {}
    for label in assistants:
        if label == reference:
            continue
        mine = by_assistant.get(label, {})
        compared[label] = {
            "overall": {
                metric: mean_confidence_interval(differences(mine, metric, None)).to_dict()
                for metric in metrics
            },
            "per_human": {
                human: {
                    metric: mean_confidence_interval(differences(mine, metric, human)).to_dict()
                    for metric in metrics
                }
                for human in humans
            },
        }
    return {"reference": reference, "metrics": list(metrics), "assistants": compared}


def _rank_key(row: dict[str, Any]) -> tuple[int, float, float, str]:
    """Rank order: assistants without a failed episode first, then those with some failed
    episodes, then those with no ok episode (invalid specs included); within each group by the
    headline score (higher first), then the human's actions (fewer first), then the name. So a
    failing assistant never ranks above a working one, whatever its score on the episodes it
    finished."""
    headline = row["metrics"].get(HEADLINE, {}).get("mean")
    second = row["metrics"].get(SECOND, {}).get("mean")
    group = 2 if row["episodes"] == 0 else 1 if row["failed"] else 0
    return (
        group,
        -headline if headline is not None else math.inf,
        second if second is not None else math.inf,
        row["assistant"],
    )


def _aggregate_dicts(metrics: Sequence[dict[str, Any]]) -> dict[str, Estimate]:
    """:func:`~mbag_env.evaluation.metrics.aggregate` for metrics already turned into dicts."""
    summary = {}
    for name in SCALAR_METRICS:
        values = [math.nan if m.get(name) is None else float(m[name]) for m in metrics]
        summary[name] = mean_confidence_interval(values)
    return summary
