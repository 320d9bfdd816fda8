"""The package's layers: a lower layer never imports a higher one.

Every module under perfaction/ is parsed (not imported) and every import in it
is checked: at module level, inside functions, under ``if TYPE_CHECKING:``,
relative ones, and ``importlib.import_module("perfaction....")`` with a
literal name. A failure names the file, the line and the rule it breaks.

The rules, lowest layer first (the table MAY_IMPORT below is the authority):

    base      metrics, errors, compat, signals, untrusted: each other only
    results   the results model, files and history
    harness   measures; sees base and results only
    ports     the protocols adapters implement, and the values crossing them
    analysis  statistics and verdicts
    report    words and templates for the verdicts
    github    the GitHub adapters; base, results and the ports they implement
    pipeline  the use cases both front ends share; not github or a front end
    action, cli   the front ends; anything but each other

perfaction/__init__.py (re-exports ``benchmark`` from harness.api) and
__main__.py (runs the CLI) are exempt.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "perfaction"
EXEMPT = {"perfaction/__init__.py", "perfaction/__main__.py"}

# perfaction.<first part> -> its layer.
LAYER_OF = {
    "metrics": "base", "errors": "base", "compat": "base", "signals": "base", "untrusted": "base",
    "results": "results",
    "harness": "harness",
    "ports": "ports",
    "analysis": "analysis",
    "report": "report",
    "github": "github",
    "pipeline": "pipeline",
    "action": "action",
    "cli": "cli",
}
LAYERS = set(LAYER_OF.values())

# layer -> the layers it may import (itself included).
MAY_IMPORT = {
    "base":     {"base"},
    "results":  {"base", "results"},
    "harness":  {"base", "results", "harness"},
    "ports":    {"base", "results", "harness", "ports"},
    "analysis": {"base", "results", "analysis"},
    "report":   {"base", "results", "analysis", "report"},
    "github":   {"base", "results", "ports", "github"},
    "pipeline": {"base", "results", "harness", "ports", "analysis", "report", "pipeline"},
    "action":   LAYERS - {"cli"},
    "cli":      LAYERS - {"action"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, dotted target) for every import of the project in ``source``, wherever it sits."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names_modules = base == "perfaction" or not node.module   # `from perfaction import errors`, `from . import x`
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if names_modules else base
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def root_reexports() -> dict[str, str]:
    """Names the package root takes from a submodule: `from perfaction import benchmark` is harness.api."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    return {alias.asname or alias.name: node.module
            for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
            for alias in node.names}


def layer_of(target: str, reexports: dict[str, str]) -> str | None:
    """The layer of a dotted import target; "" for outside the project or the root's own names."""
    parts = target.split(".")
    if parts[0] != "perfaction" or len(parts) == 1:
        return ""
    if parts[1] in reexports:
        return layer_of(reexports[parts[1]], reexports)
    if parts[1] not in LAYER_OF and not (PACKAGE / parts[1]).exists() \
            and not (PACKAGE / f"{parts[1]}.py").exists():
        return ""  # a name the root defines itself (__version__): importing the root is free
    return LAYER_OF.get(parts[1])


def project_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if "__pycache__" not in p.parts and str(p.relative_to(REPO)) not in EXEMPT)


def violations() -> list[str]:
    reexports = root_reexports()
    found = []
    for path in project_modules():
        rel = path.relative_to(REPO)
        own = LAYER_OF.get(rel.parts[1].removesuffix(".py"))
        if own is None:
            continue  # test_every_module_has_a_layer says so
        source = path.read_text(encoding="utf-8")
        seen = imports_of(source, module_name(path), is_package=path.name == "__init__.py")
        for line, target in sorted(set(seen)):
            theirs = layer_of(target, reexports)
            if theirs == "":
                continue
            if theirs is None:
                found.append(f"{rel}:{line}: imports {target}, which has no layer in LAYER_OF")
            elif theirs not in MAY_IMPORT[own]:
                allowed = ", ".join(sorted(MAY_IMPORT[own]))
                found.append(f"{rel}:{line}: {own} imports {target} ({theirs}); "
                             f"{own} may import only {allowed}")
    return found


def test_no_lower_layer_imports_a_higher_one():
    found = violations()
    assert not found, f"{len(found)} import(s) against the layering:\n" + "\n".join(found)


def test_every_module_has_a_layer():
    loose = sorted({str(p.relative_to(REPO)) for p in project_modules()
                    if p.relative_to(PACKAGE).parts[0].removesuffix(".py") not in LAYER_OF})
    assert not loose, ("modules outside every layer (add them to LAYER_OF and MAY_IMPORT): "
                       + ", ".join(loose))


def test_the_walker_sees_every_kind_of_import():
    source = (
        "from typing import TYPE_CHECKING\n"
        "import perfaction.results.model\n"
        "from . import sibling\n"
        "from ..report import render\n"
        "from perfaction import errors, __version__\n"
        "if TYPE_CHECKING:\n"
        "    from perfaction.github.client import GitHubClient\n"
        "def late():\n"
        "    import importlib\n"
        "    from perfaction.cli import main\n"
        "    return importlib.import_module('perfaction.action.app')\n"
    )
    seen = list(imports_of(source, "perfaction.analysis.compare"))
    assert (2, "perfaction.results.model") in seen
    assert (3, "perfaction.analysis.sibling") in seen
    assert (4, "perfaction.report") in seen
    assert (5, "perfaction.errors") in seen
    assert (7, "perfaction.github.client") in seen
    assert (10, "perfaction.cli") in seen
    assert (11, "perfaction.action.app") in seen
    reexports = {"benchmark": "perfaction.harness.api"}
    assert layer_of("perfaction.benchmark", reexports) == "harness"
    assert layer_of("perfaction.__version__", reexports) == ""
    assert layer_of("numpy.linalg", reexports) == ""
    # relative imports in a package's __init__ are anchored at the package itself
    assert (1, "perfaction.report.render") in imports_of("from .render import x\n", "perfaction.report",
                                                         is_package=True)


def test_the_rules_cover_every_layer():
    assert set(MAY_IMPORT) == LAYERS
    assert all(allowed <= LAYERS and layer in allowed for layer, allowed in MAY_IMPORT.items())
