"""The package layout: imports flow one way (no circle, each package imports only the packages its
docstring allows), and no module grows past about 400 lines."""

import ast
import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "mcd_core"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = ["mcd_core", *path.relative_to(PKG).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PKG.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """mcd_core modules imported anywhere in `path` (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mcd_core"))
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (use absolute mcd_core imports)"
            if node.module and node.module.startswith("mcd_core"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in MODULES else node.module)
    return found


GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_mcd_core():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


def allowed_packages(package: str) -> set[str]:
    doc = ast.get_docstring(ast.parse((PKG / package / "__init__.py").read_text())) or ""
    match = re.search(r"May import: (.*?)(?:\n\n|$)", doc, re.S)
    assert match, f"mcd_core/{package}/__init__.py: docstring has no 'May import:' line"
    named = re.findall(r"mcd_core\.(\w+)", match.group(1))
    return {package, *named}


TOP_PACKAGES = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").is_file() and p.name != "cli")


def test_packages_import_only_what_their_docstring_allows():
    bad = []
    for package in TOP_PACKAGES:
        allowed = allowed_packages(package)
        for name, deps in GRAPH.items():
            if not name.startswith(f"mcd_core.{package}"):
                continue
            for dep in deps:
                top = dep.split(".")[1] if dep.count(".") else None
                if top is not None and top not in allowed:
                    bad.append(f"{name} imports {dep}")
    assert not bad, "\n".join(bad)


def test_only_cli_sits_above_everything():
    users_of_cli = [name for name, deps in GRAPH.items()
                    if not name.startswith("mcd_core.cli") and any(d.startswith("mcd_core.cli") for d in deps)]
    assert not users_of_cli


def test_every_module_is_short_enough_to_read_in_one_sitting():
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def test_every_package_says_what_it_owns():
    missing = [str(p.parent) for p in PKG.rglob("__init__.py") if not ast.get_docstring(ast.parse(p.read_text()))]
    assert not missing
