"""Build the provider function's asset on this machine, without Docker.

Docker is not available everywhere this project is synthesized (CI, the local cloud), so the asset
is built with pip's cross-platform wheel download (`--platform manylinux2014_aarch64 --only-binary`),
which yields exactly what an arm64 Python 3.14 Lambda needs. Of botocore's service models only
those of the services the function calls are kept (`sc_plan_provider.runtime.clients.SERVICES`): the
rest are 28 MB that every cold start would download and unpack for nothing. The asset hash is
computed here from the sources and the bundling settings, so CDK can reuse an already staged
`asset.<hash>` directory and skip pip entirely on repeat synths.

Lambda's task root is read-only: without bytecode in the asset, every cold start compiles each
module it imports. So the asset is compiled for the runtime's Python (3.14) by the npm package
`pyodide` (CPython for WebAssembly, run by Node, which CDK needs anyway) when it can be found from
the app's folder; where it cannot, the asset ships source only and a message says how to add it
(docs/benchmark.md#bytecode).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from sc_plan_provider.runtime.clients import SERVICES

HANDLER_PACKAGE = "sc_plan_provider"
# The function's own pinned dependencies, shipped inside the handler package so an installed
# library bundles exactly what the repository does.
REQUIREMENTS_FILE = "requirements.txt"

# The target Lambda platform. Changing any of these changes the asset hash.
PIP_PLATFORM = "manylinux2014_aarch64"
PIP_PYTHON_VERSION = "3.14"
PIP_IMPLEMENTATION = "cp"

# Never copied from the package: its byte code is compiled for the synthesizing interpreter, not
# for Lambda's (the asset's own comes from pyodide, below); the requirements file and the typing
# marker mean nothing at run time.
EXCLUDED_NAMES = ("__pycache__", REQUIREMENTS_FILE, "py.typed")
EXCLUDED_SUFFIXES = (".pyc",)
ASSET_EXCLUDES = ["__pycache__", "*.pyc"]


def installed_package_dir(package: str = HANDLER_PACKAGE) -> Path:
    """Where the handler package lives: the repository's `lambda/` in a checkout (editable install)
    or site-packages for an installed wheel; either way what `import sc_plan_provider` loads."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The handler package {package} is not importable: install this library.")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


# Bundling never reaches Docker (try_bundle always succeeds or raises); CDK still requires an image.
UNUSED_IMAGE = "unused-local-bundling"


def pip_command(requirements: Path, output_dir: str) -> list[str]:
    """The pip invocation that fetches Linux arm64 wheels for Python 3.14, whatever the host is."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-r",
        str(requirements),
        "--target",
        output_dir,
        "--platform",
        PIP_PLATFORM,
        "--implementation",
        PIP_IMPLEMENTATION,
        "--python-version",
        PIP_PYTHON_VERSION,
        "--only-binary=:all:",
        "--no-compile",
        "--disable-pip-version-check",
        "--quiet",
    ]


def prune_botocore_models(site_dir: Path, keep: Sequence[str] = SERVICES) -> None:
    """Remove every botocore service model but `keep`; shared files (endpoints, partitions) stay."""
    models = site_dir / "botocore" / "data"
    for entry in models.iterdir():
        if entry.is_dir() and entry.name not in keep:
            shutil.rmtree(entry)


# Bytecode for the runtime: pyodide's major version names its CPython (314 -> 3.14).
PYODIDE_PACKAGE = Path("node_modules") / "pyodide"
PYODIDE_MAJOR = PIP_PYTHON_VERSION.replace(".", "")
COMPILE_SCRIPT = Path(__file__).with_name("compile_bytecode.mjs")
COMPILE_TIMEOUT_S = 600.0


def find_pyodide(*start: Path) -> Path | None:
    """`node_modules/pyodide` for the runtime's Python, in a start folder or above it (as Node
    resolves packages), or None. Its version must name the runtime's Python: 314.x for 3.14."""
    for folder in start:
        for candidate in (folder, *folder.parents):
            manifest = candidate / PYODIDE_PACKAGE / "package.json"
            if manifest.is_file():
                version = str(json.loads(manifest.read_text()).get("version", ""))
                if version.split(".", maxsplit=1)[0] == PYODIDE_MAJOR:
                    return manifest.parent
    return None


def _run_pyodide(asset_dir: Path, pyodide: Path, *options: str) -> list[str]:
    """Run compile_bytecode.mjs; returns the lines it printed before the interpreter's version."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Compiling the provider's bytecode needs Node.js (`node`) on the PATH.")
    done = subprocess.run(  # noqa: S603 - fixed argv: Node, our script, two paths, a flag
        [node, str(COMPILE_SCRIPT), str(pyodide / "pyodide.mjs"), str(asset_dir), *options],
        capture_output=True,
        text=True,
        timeout=COMPILE_TIMEOUT_S,
        check=False,
    )
    printed = done.stdout.strip().splitlines()
    if done.returncode != 0 or not printed or printed[-1] != PIP_PYTHON_VERSION:
        raise RuntimeError(
            f"Compiling the provider's bytecode with {pyodide} failed (exit {done.returncode}, Python "
            f"{printed[-1] if printed else '?'}, runtime {PIP_PYTHON_VERSION}): {done.stderr.strip()[-500:]}"
        )
    return printed[:-1]


def compile_bytecode(asset_dir: Path, pyodide: Path) -> None:
    """Write checked-hash `__pycache__/*.cpython-314.pyc` beside every module of the asset."""
    _run_pyodide(asset_dir, pyodide)


def sources_without_bytecode(asset_dir: Path, pyodide: Path) -> list[str]:
    """The asset's modules that the runtime's Python would compile from source (no valid .pyc for
    it), as that interpreter's own import machinery decides; nothing is written."""
    return _run_pyodide(asset_dir, pyodide, "--check")


def _source_files(root: Path) -> Iterator[Path]:
    """Files that make up the package, in a stable order, without byte code."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in EXCLUDED_NAMES for part in relative.parts) or path.suffix in EXCLUDED_SUFFIXES:
            continue
        if path.is_file():
            yield path


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """`ILocalBundling` that pip-installs the pinned requirements and copies the handler package.

    jsii calls `try_bundle` with the BundlingOptions struct spread as keyword arguments; only the
    output directory matters here.
    """

    def __init__(self, package_dir: Path | None = None, *, pyodide: Path | None = None) -> None:
        self._package_dir = package_dir or installed_package_dir()
        self._package = self._package_dir.name
        # Where `cdk synth` runs (the app's folder) first, then the checkout this package lives in.
        self._pyodide = pyodide or find_pyodide(Path.cwd(), self._package_dir)

    @property
    def pyodide(self) -> Path | None:
        """The pyodide package that compiles the asset's bytecode; None: the asset ships source only."""
        return self._pyodide

    @property
    def requirements(self) -> Path:
        """The function's pinned dependency list, inside the handler package."""
        return self._package_dir / REQUIREMENTS_FILE

    @property
    def package_dir(self) -> Path:
        """The handler package copied into the asset root (so `sc_plan_provider.handler` imports)."""
        return self._package_dir

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        """Install dependencies, then the package on top (our code wins over any name clash)."""
        subprocess.run(pip_command(self.requirements, output_dir), check=True)  # noqa: S603 - fixed argv
        prune_botocore_models(Path(output_dir))
        shutil.copytree(
            self.package_dir,
            Path(output_dir) / self._package,
            ignore=shutil.ignore_patterns(*EXCLUDED_NAMES, *(f"*{s}" for s in EXCLUDED_SUFFIXES)),
            dirs_exist_ok=True,
        )
        if self._pyodide is None:
            print(  # shown by `cdk synth` while it bundles
                f"sc_plan_execution: the provider's asset ships without bytecode: no npm package "
                f"pyodide@{PYODIDE_MAJOR}.x was found from {Path.cwd()}, so every cold start compiles the "
                f"modules it imports. `npm install --save-dev pyodide@{PYODIDE_MAJOR}` in the app's folder "
                "compiles them at synth (docs/benchmark.md#bytecode).",
                file=sys.stderr,
            )
        else:
            compile_bytecode(Path(output_dir), self._pyodide)
        return True

    def fingerprint(self) -> str:
        """Hash of everything that determines the bundle: sources, requirements, pip target, models kept.

        Used as the CUSTOM asset hash: CDK skips bundling when `asset.<hash>` is already staged,
        which keeps repeat synths and the test suite fast, and any source change forces a rebuild.
        """
        digest = hashlib.sha256()
        bytecode = "source only" if self._pyodide is None else self._pyodide_version()
        for part in (PIP_PLATFORM, PIP_IMPLEMENTATION, PIP_PYTHON_VERSION, self._package, *SERVICES, bytecode):
            digest.update(part.encode() + b"\0")
        digest.update(self.requirements.read_bytes() + b"\0")
        for path in _source_files(self.package_dir):
            digest.update(path.relative_to(self.package_dir).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()

    def _pyodide_version(self) -> str:
        assert self._pyodide is not None
        return "pyodide " + str(json.loads((self._pyodide / "package.json").read_text())["version"])


def provider_code(bundler: LocalPipBundling | None = None, *, exclude: Sequence[str] = ASSET_EXCLUDES) -> lambda_.Code:
    """The provider function's code: the handler package bundled locally, hashed from source."""
    bundler = bundler or LocalPipBundling()
    return lambda_.Code.from_asset(
        str(bundler.package_dir),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=bundler.fingerprint(),
        exclude=list(exclude),
        bundling=BundlingOptions(image=DockerImage.from_registry(UNUSED_IMAGE), local=bundler),
    )
