"""Import-layer check: `tickstock` never imports `harness` (run by `make check` and the tests)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

FORBIDDEN = {"tickstock": ("harness",)}


def violations(root: Path) -> list[str]:
    """Return `file:line: package imports forbidden` for every forbidden import under `root`."""
    found: list[str] = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                names: list[str] = []
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    if name.split(".")[0] in banned:
                        rel = path.relative_to(root)
                        found.append(f"{rel}:{node.lineno}: {package} imports {name}")
    return found


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    problems = violations(root)
    for line in problems:
        print(line)
    if not problems:
        print("layers ok: tickstock does not import harness")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
