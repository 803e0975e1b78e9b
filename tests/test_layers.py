"""The layer rule of the package (README, Layout): an import only goes down, and nothing cycles.

Every ``import`` of the package's files is read with :mod:`ast` (imports inside functions and
``try`` blocks included, ``if TYPE_CHECKING:`` blocks left out) and checked against
:data:`LAYERS`. A module that belongs to no layer fails the test, so a new top-level module
must be given its place here and in the README.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS: tuple[tuple[str, ...], ...] = (
    ("blocks",),
    ("config", "compile_cache"),
    ("core",),
    ("goals", "humans", "render"),
    ("envs", "assistants"),
    ("evaluation", "__init__"),
    ("apps",),
)
"""``mbag_env``'s parts, lowest first: the first name after ``mbag_env.`` (a subpackage or a
top-level module; ``__init__`` is the package root, the public API). A part imports only parts
of lower layers (never one of its own layer but another part, nor anything above)."""

RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}

ALGORITHM_REGISTRATION_FREE = ("baselines.common",)
"""Baselines packages that must not import an algorithm package: algorithms register with them
(entry points in pyproject.toml) instead of being named there."""

KNOWN_CYCLES: set[frozenset[str]] = set()
"""Import cycles still to be removed (issue 20); any other cycle fails."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_without_type_checking(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            yield from (_walk_without_type_checking(ast.Module(body=child.orelse, type_ignores=[])))
            continue
        yield child
        yield from _walk_without_type_checking(child)


def imports_of(path: Path, known_modules: set[str]) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``path``, relative imports resolved; ``from a import b``
    names ``a.b`` when that is a module of the tree, else ``a``."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in _walk_without_type_checking(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append((node.lineno, candidate if candidate in known_modules else base))
    return found


def all_modules() -> dict[str, Path]:
    return {
        module_name(path): path for package in ("mbag_env", "baselines") for path in package_files(package)
    }


def part_of(module: str) -> str:
    """The layer part of an ``mbag_env`` module: the name after ``mbag_env.`` (``__init__`` for the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {part_of(module_name(path)) for path in package_files("mbag_env")}
    assert parts - set(RANK) == set(), "give each new part a layer in LAYERS and the README"


def test_imports_only_go_down_the_layers() -> None:
    modules = all_modules()
    wrong = []
    for path in package_files("mbag_env"):
        source = module_name(path)
        for line, target in imports_of(path, set(modules)):
            if not (target == "mbag_env" or target.startswith("mbag_env.")):
                continue
            low, high = part_of(target), part_of(source)
            if low == high:
                continue
            if RANK.get(low, len(LAYERS)) >= RANK.get(high, -1):
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({high}) imports {target} ({low})")
    assert wrong == [], "imports that do not go down the layers:\n" + "\n".join(wrong)


def _module_paths_named(tree: ast.AST, modules: set[str]) -> Iterator[tuple[int, str]]:
    """``(line, text)`` of every string constant that is a module of ``modules`` or a
    ``module:attribute`` spec of one (what ``importlib`` would be handed)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.partition(":")[0] in modules:
                yield node.lineno, node.value


def test_mbag_env_never_names_baselines() -> None:
    """Neither an import nor a module path in a string (``importlib``): the baselines register
    their checkpoint loaders through the ``mbag_env.policy_loaders`` entry points."""
    baselines = {name for name in all_modules() if name.split(".")[0] == "baselines"}
    wrong = []
    for path in package_files("mbag_env"):
        tree = ast.parse(path.read_text(), str(path))
        for line, target in imports_of(path, set()):
            if target.split(".")[0] == "baselines":
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
        for line, text in _module_paths_named(tree, baselines):
            wrong.append(f"{path.relative_to(ROOT)}:{line} names {text!r}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("package", ALGORITHM_REGISTRATION_FREE)
def test_shared_baseline_code_names_no_algorithm(package: str) -> None:
    """Shared baseline code neither imports nor names (in a ``module:function`` string) an
    algorithm's module: the algorithms register with it through entry points."""
    modules = all_modules()
    others = {name for name in modules if name.startswith("baselines.") and not name.startswith(package)}
    wrong = []
    for path in package_files(package.replace(".", "/")):
        tree = ast.parse(path.read_text(), str(path))
        for line, target in imports_of(path, set(modules)):
            if target in others:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
        for line, text in _module_paths_named(tree, others):
            wrong.append(f"{path.relative_to(ROOT)}:{line} names {text!r}")
    assert wrong == [], "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles() -> None:
    """No cycle among the modules of ``mbag_env`` and ``baselines`` (a package's ``__init__``
    re-exporting its own modules does not count: it is not imported by them)."""
    modules = all_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {target for _, target in imports_of(path, set(modules)) if target in modules}
        # A module importing its own package's __init__ for a name defined there is the
        # package's business; a module importing a parent package is not a cycle of modules.
        graph[name] = {target for target in targets if not name.startswith(target + ".")}
    cycles = [cycle for cycle in _cycles(graph) if frozenset(cycle) not in KNOWN_CYCLES]
    assert cycles == [], f"import cycles: {cycles}"
