"""The size limits of the stage layout (issue 18), kept by the suite instead of by memory.

A module over 400 lines, a CLI module over 200 or a function taking more than 8 parameters is
where business logic starts to pile up again; the request dataclasses exist so it need not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent.parent / "harness"
MAX_MODULE_LINES = 400
MAX_CLI_MODULE_LINES = 200
MAX_PARAMETERS = 8


def _modules() -> list[Path]:
    return sorted(HARNESS.rglob("*.py"))


def parameter_count(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Parameters a caller can pass: `self`/`cls` not counted, `*args`/`**kwargs` one each."""
    a = fn.args
    names = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    count = len(names) + (a.vararg is not None) + (a.kwarg is not None)
    if names and names[0].arg in ("self", "cls"):
        count -= 1
    return count


def over_limit(source: str) -> list[str]:
    tree = ast.parse(source)
    return [
        f"{node.name} ({parameter_count(node)} parameters)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and parameter_count(node) > MAX_PARAMETERS
    ]


def test_the_parameter_count_sees_a_long_signature():
    wide = "def f(a, b, c, d, /, e, f, g, *, h, i):\n    pass\n"
    method = "class C:\n    def m(self, a, b, c, d, e, f, g, h):\n        pass\n"
    star = "def f(a, b, c, d, e, f, g, *args, **kwargs):\n    pass\n"
    assert over_limit(wide) == ["f (9 parameters)"]
    assert over_limit(method) == []
    assert over_limit(star) == ["f (9 parameters)"]


def test_the_harness_has_modules_to_check():
    assert len(_modules()) > 50
    assert (HARNESS / "cli" / "replay.py").exists()


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(HARNESS)))
def test_every_harness_module_keeps_the_layout_limits(path: Path):
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    limit = MAX_CLI_MODULE_LINES if path.parent.name == "cli" else MAX_MODULE_LINES
    assert lines <= limit, f"{path.name}: {lines} lines, limit {limit}"
    assert over_limit(text) == [], f"{path.name}: more than {MAX_PARAMETERS} parameters"
