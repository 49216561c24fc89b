"""Plugins every suite shares: the fault sweep's options and its matrix report (tests/sweep)."""

pytest_plugins = ("support.sweep_report",)
