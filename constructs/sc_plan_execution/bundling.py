"""Build the provider function's asset on this machine, without Docker.

Docker is not available everywhere this project is synthesized (CI, the local cloud), so the asset
is built with pip's cross-platform wheel download (`--platform manylinux2014_aarch64 --only-binary`),
which yields exactly what an arm64 Python 3.14 Lambda needs. Of botocore's service models only
those of the services the function calls are kept (`sc_plan_provider.runtime.clients.SERVICES`): the
rest are 28 MB that every cold start would download and unpack for nothing. The asset hash is
computed here from the sources and the bundling settings, so CDK can reuse an already staged
`asset.<hash>` directory and skip pip entirely on repeat synths.
"""

from __future__ import annotations

import hashlib
import importlib.util
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

# Never shipped: byte code is compiled for the synthesizing interpreter, not for Lambda's; the
# requirements file and the typing marker mean nothing at run time.
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

    def __init__(self, package_dir: Path | None = None) -> None:
        self._package_dir = package_dir or installed_package_dir()
        self._package = self._package_dir.name

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
        return True

    def fingerprint(self) -> str:
        """Hash of everything that determines the bundle: sources, requirements, pip target, models kept.

        Used as the CUSTOM asset hash: CDK skips bundling when `asset.<hash>` is already staged,
        which keeps repeat synths and the test suite fast, and any source change forces a rebuild.
        """
        digest = hashlib.sha256()
        for part in (PIP_PLATFORM, PIP_IMPLEMENTATION, PIP_PYTHON_VERSION, self._package, *SERVICES):
            digest.update(part.encode() + b"\0")
        digest.update(self.requirements.read_bytes() + b"\0")
        for path in _source_files(self.package_dir):
            digest.update(path.relative_to(self.package_dir).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()


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
