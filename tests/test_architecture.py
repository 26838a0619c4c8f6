"""The layout rules of `motion_core/` (issue 19), checked on the source so that they stay true.

* Imports go one way: no module imports, directly or through others, a module that imports it back. Imports
  inside functions count too (they only postpone a circle); ``if TYPE_CHECKING:`` blocks do not run and do not
  count.
* No private name (leading underscore) crosses modules: ``from motion_core.x import _helper`` is refused, and so
  is ``module._helper`` on an imported motion_core module. A helper other modules need is public and documented.
* No module is over 450 lines, and the `Engine` facade is under 250.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "motion_core"
MAX_MODULE_LINES = 450
MAX_ENGINE_LINES = 250


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Every import statement of a module, in functions too, skipping `if TYPE_CHECKING:` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported motion_core module, name taken from it or None, line) for each import of `module`."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name in MODULES]
            continue
        source = _absolute(module, node)
        if source not in MODULES:
            continue
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            found.append((submodule, None, node.lineno) if submodule in MODULES else
                         (source, alias.name, node.lineno))
    return found


def _graph() -> dict[str, set[str]]:
    return {m: {target for target, _, _ in _imports(m) if target != m} for m in MODULES}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}     # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_the_checker_finds_a_cycle_and_accepts_a_chain():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_in_motion_core():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _private_attribute_uses(module: str) -> list[str]:
    """`alias._name` where `alias` is a motion_core module this module imported."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    aliases = {}
    for node in _import_nodes(tree):
        names = node.names
        for alias in names:
            full = alias.name if isinstance(node, ast.Import) else f"{_absolute(module, node)}.{alias.name}"
            if full in MODULES and full != module:
                aliases[alias.asname or alias.name.split(".")[0]] = full
    return [f"{module}:{n.lineno} uses {n.value.id}.{n.attr}" for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in aliases
            and n.attr.startswith("_") and not n.attr.startswith("__")]


def test_no_private_name_crosses_modules():
    crossings = [f"{m}:{line} imports {name} from {source}"
                 for m in MODULES for source, name, line in _imports(m)
                 if name and name.startswith("_") and not name.startswith("__")]
    crossings += [use for m in MODULES for use in _private_attribute_uses(m)]
    assert not crossings, "\n".join(crossings)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines; split it by concept"


def test_engine_is_a_thin_facade():
    tree = ast.parse((PACKAGE / "engine.py").read_text(encoding="utf-8"))
    (engine,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Engine"]
    lines = engine.end_lineno - engine.lineno + 1
    assert lines < MAX_ENGINE_LINES, f"Engine is {lines} lines; move work into motion_core.generation"


def test_old_import_paths_keep_working():
    from motion_core import Engine, Motion
    from motion_core.engine import Engine as EngineAgain
    from motion_core.motion import Motion as MotionAgain
    assert Engine is EngineAgain and Motion is MotionAgain
