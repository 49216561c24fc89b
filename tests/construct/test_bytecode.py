"""The asset's bytecode for the runtime's Python: found, compiled reproducibly, checked by 3.14 itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sc_plan_execution.bundling import (
    LocalPipBundling,
    compile_bytecode,
    find_pyodide,
    sources_without_bytecode,
)
from support.bytecode import bytecode_problems

REPO = Path(__file__).resolve().parents[2]
# Set constants and docstrings: the parts of a module whose bytecode could differ between builds
# (a set's order follows string hashes, randomized per process unless the seed is fixed).
MODULE = '''"""A module."""
NAMES = frozenset({"alpha", "beta", "gamma", "delta", "epsilon"})
def member(name):
    """Docstring."""
    return name in {"x", "y", "z", "w"}
'''


@pytest.fixture(scope="module")
def pyodide() -> Path:
    found = find_pyodide(REPO)
    assert found is not None, "npm ci installs pyodide (package.json)"
    return found


def _fake_pyodide(root: Path, version: str) -> Path:
    package = root / "node_modules" / "pyodide"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "pyodide", "version": version}))
    return package


def test_pyodide_is_found_from_the_app_folder_or_above_for_the_runtime_python_only(tmp_path: Path) -> None:
    app = tmp_path / "app" / "infra"
    app.mkdir(parents=True)
    assert find_pyodide(app) is None
    wrong = _fake_pyodide(tmp_path / "app", "0.27.7")  # Python 3.12's pyodide: not the runtime's
    assert find_pyodide(app) is None
    shutil.rmtree(wrong.parent)
    found = _fake_pyodide(tmp_path, "314.0.7")
    assert find_pyodide(app) == found
    assert find_pyodide(tmp_path / "elsewhere", app) == found  # later start folders are tried too


def test_asset_hash_names_the_bytecode_compiler(tmp_path: Path) -> None:
    package = tmp_path / "sc_plan_provider"
    package.mkdir()
    (package / "requirements.txt").write_text("crhelper==2.0.12\n")
    (package / "handler.py").write_text("X = 1\n")
    first = _fake_pyodide(tmp_path / "a", "314.0.7")
    other = _fake_pyodide(tmp_path / "b", "314.0.8")
    hashes = {LocalPipBundling(package, pyodide=p).fingerprint() for p in (first, first, other)}
    assert len(hashes) == 2  # same compiler, same hash; a new one rebuilds the asset


def test_compiled_bytecode_is_reproducible_and_used_by_the_runtime_python(tmp_path: Path, pyodide: Path) -> None:
    builds = [tmp_path / "one", tmp_path / "two"]
    for build in builds:
        (build / "pkg").mkdir(parents=True)
        (build / "pkg" / "__init__.py").write_text("")
        (build / "pkg" / "names.py").write_text(MODULE)
        assert sources_without_bytecode(build, pyodide) == ["pkg/__init__.py", "pkg/names.py"]
        compile_bytecode(build, pyodide)

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    assert files(builds[0]) == files(builds[1])
    assert bytecode_problems(files(builds[0])) == []
    assert sources_without_bytecode(builds[0], pyodide) == []
    # An edited source: its bytecode no longer matches, by 3.14's rules and by ours.
    (builds[0] / "pkg" / "names.py").write_text(MODULE + "EXTRA = 1\n")
    assert sources_without_bytecode(builds[0], pyodide) == ["pkg/names.py"]
    assert bytecode_problems(files(builds[0])) == ["pkg/names.py: bytecode hash does not match the source"]
