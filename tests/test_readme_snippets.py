"""Every Python snippet of the README's "Use with other libraries" section runs as written.

The snippets are found as the SuperSuit one is in ``tests/envs/test_pettingzoo_api.py``: the
README's fenced ``python`` blocks, here those between the section's heading and the next
``## `` heading. A snippet that imports an optional library is skipped when it is not installed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.torch_threads import one_torch_thread

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Use with other libraries"
OPTIONAL_IMPORTS = {"sb3_contrib": "sb3_contrib", "supersuit": "supersuit"}
"""A snippet mentioning ``import <key>`` / ``from <key>`` needs the module (the 'examples' extra)."""


def section_text() -> str:
    """The README's "Use with other libraries" section, heading to next ``## `` heading."""
    text = README.read_text()
    start = text.index(f"\n{SECTION}\n")
    end = text.find("\n## ", start + 1)
    return text[start : len(text) if end < 0 else end]


def section_snippets() -> list[str]:
    """The section's fenced Python blocks, in order."""
    return re.findall(r"```python\n(.*?)```", section_text(), flags=re.DOTALL)


def snippet_id(snippet: str) -> str:
    for name in ("sb3_contrib", "supersuit", "make_vec"):
        if name in snippet:
            return {"sb3_contrib": "sb3", "supersuit": "supersuit", "make_vec": "vector_loop"}[name]
    return "snippet"


SNIPPETS = section_snippets()


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One torch thread for the SB3 snippet's networks (:func:`tests.torch_threads.one_torch_thread`)."""
    with one_torch_thread():
        yield


def test_the_section_has_a_snippet_per_library() -> None:
    assert sorted(snippet_id(snippet) for snippet in SNIPPETS) == ["sb3", "supersuit", "vector_loop"]
    section = section_text()
    for command in ("mbag-leaderboard", "--ray local", "--gif", "mbag-replay", "168×168", "780×554"):
        assert command in section, f"the section should mention {command}"


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[snippet_id(snippet) for snippet in SNIPPETS])
def test_readme_use_with_snippet_runs(
    snippet: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for marker, module in OPTIONAL_IMPORTS.items():
        if re.search(rf"^(import|from) {marker}\b", snippet, flags=re.MULTILINE):
            pytest.importorskip(module, reason=f"the README's {marker} snippet needs the 'examples' extra")
    monkeypatch.chdir(tmp_path)  # whatever a snippet writes lands here
    exec(compile(snippet, str(README), "exec"), {"__name__": "readme_snippet"})
    printed = capsys.readouterr().out
    assert printed.strip(), "every snippet ends by printing a result"
    assert os.listdir(tmp_path) == []
