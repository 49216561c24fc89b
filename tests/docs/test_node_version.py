"""The Node.js version is stated once per tool and the statements agree: `.nvmrc` (nvm, CI) pins the
tested version, package.json's `engines` the supported range, and README.md says both."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
# README.md: "Needs Python ≥ 3.11, Node ≥ 20 (tested with 20.20.2, as in `.nvmrc`) and npm"
README_NODE = re.compile(r"Node ≥ (\d+) \(tested with (v?\d+\.\d+\.\d+)")


def version(text: str) -> tuple[int, int, int]:
    found = VERSION.fullmatch(text.strip())
    assert found, f"not a Node.js version: {text!r}"
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def test_nvmrc_engines_and_readme_state_the_same_node_version() -> None:
    tested = version((ROOT / ".nvmrc").read_text(encoding="utf-8"))
    engines = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["engines"]["node"]
    minimum = re.fullmatch(r">=(\d+)", engines)
    assert minimum, f"package.json engines.node is not a >=MAJOR range: {engines!r}"
    assert tested[0] >= int(minimum[1]), (tested, engines)  # the tested version is in the range
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    stated = README_NODE.findall(readme)
    assert len(stated) == 1, f"README.md should say 'Node ≥ MAJOR (tested with X.Y.Z' once: {stated}"
    ((readme_minimum, readme_tested),) = stated
    assert readme_minimum == minimum[1]
    assert version(readme_tested) == tested
