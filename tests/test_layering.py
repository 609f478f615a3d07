"""The package's layers (docs/design.md, "Layout"): nothing imports upward, and there are no
import cycles. Read from the source with ast, so a lazy import inside a function counts too;
imports under `if TYPE_CHECKING:` are for the type checker only and do not."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import agentd

SRC = Path(agentd.__file__).parent

# Lower number = lower layer. A module may import its own layer and those below.
LAYERS = {
    "base": 0,      # agentd/*.py: errors, paths, config, lifecycle, attention, effects, ...
    "protocol": 0,
    "store": 1,
    "agents": 2,
    "worker": 2,
    "daemon": 3,
    "client": 4,
}
# Within the bottom layer some modules sit above others (config reads the agents registry,
# effects plans on protocol events): the edges allowed from the bottom to a higher layer.
ALLOWED_UP = {("agentd.config", "agentd.agents")}
# Packages that must never import each other although neither is above the other.
SIBLINGS_APART = {("worker", "agents"), ("agents", "worker"), ("worker", "daemon")}


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def package_of(module: str) -> str:
    if module == "agentd.__main__":  # `python -m agentd` is the client's entry point
        return "client"
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (SRC / parts[1]).is_dir()):
        return parts[1]
    return "base"


def is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.add(child.module)
                found.update(f"{child.module}.{a.name}" for a in child.names)
            visit(child)

    visit(tree)
    modules = {module_name(p) for p in SRC.rglob("*.py")}
    return {m for m in found if m in modules}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in SRC.rglob("*.py")}


def test_nothing_imports_upward() -> None:
    bad = []
    for mod, targets in graph().items():
        for target in targets:
            a, b = package_of(mod), package_of(target)
            allowed_up = any(mod.startswith(x) and target.startswith(y) for x, y in ALLOWED_UP)
            if (a, b) in SIBLINGS_APART or (LAYERS[b] > LAYERS[a] and not allowed_up):
                bad.append(f"{mod} -> {target}")
    assert bad == []


def test_no_import_cycles() -> None:
    g = graph()
    # Package __init__ modules are imported by their submodules implicitly; only explicit
    # edges count.
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the stack, 2 done
    cycles = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(g.get(node, ())):
            if nxt == node:
                continue
            if state[nxt] == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif state[nxt] == 0:
                walk(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(g):
        if state[node] == 0:
            walk(node, [node])
    assert cycles == []


def test_the_checker_sees_imports() -> None:
    """The graph is not empty by accident: known edges are in it."""
    g = graph()
    assert "agentd.store.db" in g["agentd.daemon.tasks"]
    assert "agentd.protocol.connection" in g["agentd.client.transport"]
