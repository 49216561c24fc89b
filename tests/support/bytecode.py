"""What a shipped asset's bytecode must be, read from this interpreter (which cannot run 3.14's):
one `.pyc` per module under `__pycache__`, tagged for the runtime's Python, validated by the source's
hash (a zipped asset's fixed dates would invalidate timestamp-based ones), and that hash matching the
source it sits beside. Whether the runtime's own interpreter uses them is asked of it
(sc_plan_execution.bundling.sources_without_bytecode)."""

from __future__ import annotations

import _imp
from collections.abc import Mapping
from pathlib import PurePosixPath

from sc_plan_execution.bundling import PIP_PYTHON_VERSION

CACHE_TAG = "cpython-" + PIP_PYTHON_VERSION.replace(".", "")
CHECKED_HASH_FLAGS = 0b11  # PEP 552: hash-based (bit 0), checked against the source (bit 1)


def bytecode_name(source: str) -> str:
    """`pkg/mod.py` -> `pkg/__pycache__/mod.cpython-314.pyc`."""
    path = PurePosixPath(source)
    return str(path.parent / "__pycache__" / f"{path.stem}.{CACHE_TAG}.pyc")


def bytecode_problems(files: Mapping[str, bytes]) -> list[str]:
    """Every module of `files` (relative posix name -> content) without valid runtime bytecode,
    and every `.pyc` that is not one; empty when the asset is as it should ship."""
    sources = sorted(name for name in files if name.endswith(".py"))
    problems = [f"{name}: no {CACHE_TAG} bytecode" for name in sources if bytecode_name(name) not in files]
    magics = {files[bytecode_name(name)][:4] for name in sources if bytecode_name(name) in files}
    if len(magics) > 1:
        problems.append(f"bytecode of {len(magics)} Python versions: {sorted(magics)}")
    for name in sources:
        pyc = files.get(bytecode_name(name))
        if pyc is None:
            continue
        flags = int.from_bytes(pyc[4:8], "little")
        if flags != CHECKED_HASH_FLAGS:
            problems.append(f"{name}: bytecode flags {flags:#b}, not checked-hash")
        elif pyc[8:16] != _imp.source_hash(int.from_bytes(pyc[:4], "little"), files[name]):
            problems.append(f"{name}: bytecode hash does not match the source")
    expected = {bytecode_name(name) for name in sources}
    problems += [
        f"{name}: bytecode of no shipped module" for name in files if name.endswith(".pyc") and name not in expected
    ]
    return problems
