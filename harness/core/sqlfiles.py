"""SQL kept in `.sql` files beside the code that runs it, not in Python strings.

A stage's `sql/` folder holds one file per step; each file is a Jinja library of named
statements (`{% macro name(params) %} … {% endmacro %}`) whose parameters are SQL fragments
chosen by the code (key columns, a JSON merge patch, the level being walked). Rendering is
strict: a missing parameter is an error, never an empty string in the SQL::

    con.execute(statement("harness.diff", "align", "pairs", pairs=...))
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _library(package: str, name: str) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "sql"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    return env.get_template(f"{name}.sql").module


def statement(package: str, file: str, name: str, **params: Any) -> str:
    """The statement `name` of `<package>/sql/<file>.sql`, rendered with `params`."""
    return str(getattr(_library(package, file), name)(**params))
