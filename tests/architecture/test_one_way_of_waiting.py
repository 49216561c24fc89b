"""One way of waiting, read from the function's source: every sleep goes through the injected
`Sleep` (waiting/waiter.py holds the only real one), and every visibility setting of a Service
Catalog read sits in servicecatalog/wait.py's one block."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "lambda" / "sc_plan_provider"


def modules() -> dict[str, ast.Module]:
    return {str(path.relative_to(PACKAGE)): ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}


def test_the_only_real_sleep_is_the_waiters() -> None:
    sleeping = {
        name
        for name, tree in modules().items()
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr == "sleep" and getattr(node.value, "id", "") == "time")
        or (isinstance(node, ast.ImportFrom) and node.module == "time" and any(a.name == "sleep" for a in node.names))
    }
    assert sleeping == {"waiting/waiter.py"}


def test_every_visibility_setting_is_in_the_service_catalog_wait_block() -> None:
    settings = {
        name
        for name, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Visibility"
    }
    assert settings == {"servicecatalog/wait.py"}
