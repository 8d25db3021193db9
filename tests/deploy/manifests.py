"""Readers for the deploy files, shared by the tests in tests/deploy.

They do what the real tools would do first (compose's variable interpolation and file merge,
kustomize's walk over resources and components, a Dockerfile's instruction list) so that the tests
can check the result without Docker, a cluster or network access.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from shopee_common.settings import PlatformSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE_OVERRIDE = REPO / "docker-compose.override.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
K8S = REPO / "deploy" / "k8s"
PROMETHEUS = REPO / "deploy" / "prometheus"
GRAFANA = REPO / "deploy" / "grafana"

PLATFORM_SERVICES = ("ingest", "metrics", "forecast", "insights", "gateway")
# The stream job's anomaly detection series the operations dashboard shows.
ANOMALY_DETECTION_SERIES = (
    "metrics_anomalies_total",
    "metrics_data_incomplete",
    "metrics_anomaly_run_seconds_bucket",
    "metrics_anomaly_hours_judged_total",
    "metrics_anomaly_detectors_held",
    "metrics_anomaly_detectors_loaded_total",
    "metrics_anomaly_shops_failing",
)
# gRPC services: SHOPEE_<NAME>_GRPC_PORT, and /healthz, /readyz, /metrics on SHOPEE_<NAME>_HTTP_PORT.
GRPC_SERVICES = ("forecast", "insights")
# The one directory the image makes writable for uid 10001 (Dockerfile): volumes are mounted there.
STATE_DIR = "/var/lib/shopee"
# The compose `demo` profile, in the order its steps run; `demo-labels` builds the generator image.
DEMO_STEPS = ("demo-labels", "demo-seed", "demo-history", "demo-stream")
# The platform's own images: as built by compose, and as the prod overlay renames them.
PLATFORM_IMAGE_PREFIXES = ("shopee-analytics/", "registry.example.com/shopee-analytics/")

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; `$$` is a literal `$`.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<modifier>:?[-?+][^}]*)?\}")


def load_yaml(path: Path) -> Any:
    """The one YAML document in `path`."""
    return yaml.safe_load(path.read_text())


def load_yaml_documents(path: Path) -> list[Any]:
    """Every non-empty document in `path`."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a compose `.env` file; comments and blank lines skipped."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, separator, value = stripped.partition("=")
        if not separator:
            raise ValueError(f"{path}:{number}: not a KEY=VALUE line: {line!r}")
        values[name.strip()] = value.strip()
    return values


def variables_used(text: str) -> set[str]:
    """Names of the ${...} variables a compose file interpolates."""
    return {match["name"] for match in _VARIABLE.finditer(text) if match["name"]}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation of `text` with `env`; an unset variable without default raises."""

    def replace(match: re.Match[str]) -> str:
        name, modifier = match["name"], match["modifier"] or ""
        if name is None:
            return "$"
        if name in env and not (modifier.startswith(":-") and env[name] == ""):
            return env[name]
        if modifier[:2] == ":-" or modifier[:1] == "-":
            return modifier.split("-", 1)[1]
        raise KeyError(f"${{{name}}} is not set")

    return _VARIABLE.sub(replace, text)


def merge_compose(base: Any, override: Any) -> Any:
    """Merge an override file into a compose file: mappings merge, sequences append."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge_compose(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return [*base, *override]
    return override


def interpolate_values(node: Any, env: dict[str, str]) -> Any:
    """Compose's interpolation of a parsed file: every string value, after YAML parsing (so an
    empty variable gives an empty string, and a multi-line one stays one value)."""
    if isinstance(node, dict):
        return {key: interpolate_values(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_values(value, env) for value in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


def load_compose(env: dict[str, str], with_override: bool = True) -> dict[str, Any]:
    """docker-compose.yml (plus the development override) as compose would see it."""
    project: dict[str, Any] = interpolate_values(load_yaml(COMPOSE_FILE), env)
    if with_override:
        override = interpolate_values(load_yaml(COMPOSE_OVERRIDE), env)
        project = merge_compose(project, override)
    return project


def command_words(command: str | list[str]) -> list[str]:
    """A compose `command` in its exec form."""
    return shlex.split(command) if isinstance(command, str) else list(command)


def published_container_port(mapping: str) -> int:
    """The container side of a `host_ip:host_port:container_port` mapping."""
    return int(str(mapping).rsplit(":", 1)[1].split("/")[0])


# ---------------------------------------------------------------- settings the code reads


def settings_classes(package: str) -> list[type[BaseSettings]]:
    """The settings classes workspace member `shopee-<package>` reads the environment with: those
    defined in any `settings` module of its package (e.g. shopee_gateway.settings and
    shopee_gateway.live.settings), or PlatformSettings when it has none."""
    root = importlib.import_module(f"shopee_{package}")
    assert root.__file__ is not None
    folder = Path(root.__file__).parent
    module_names = [
        ".".join((root.__name__, *path.relative_to(folder).with_suffix("").parts))
        for path in sorted(folder.rglob("settings.py"))
    ]
    classes: list[type[BaseSettings]] = []
    for module_name in module_names:
        module = importlib.import_module(module_name)
        classes += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value.__module__ == module_name
        ]
    if not module_names:
        classes = [PlatformSettings]
    assert classes, f"the settings modules of shopee_{package} define no settings class"
    return classes


def settings_env_names(package: str) -> set[str]:
    """Every variable workspace member `shopee-<package>` reads: its settings fields, prefixed."""
    return {
        str(settings.model_config.get("env_prefix", "")) + name.upper()
        for settings in settings_classes(package)
        for name in settings.model_fields
    }


def secret_env_names(package: str) -> set[str]:
    """The variables of `settings_env_names` whose fields are secrets (SecretStr)."""
    return {
        str(settings.model_config.get("env_prefix", "")) + name.upper()
        for settings in settings_classes(package)
        for name, info in settings.model_fields.items()
        if info.annotation is SecretStr
    }


# ---------------------------------------------------------------- kustomize


@dataclass
class KustomizeTree:
    """A kustomization with every file it pulls in, found by following its references."""

    root: Path
    documents: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    files: set[Path] = field(default_factory=set)
    kustomizations: list[Path] = field(default_factory=list)

    @classmethod
    def load(cls, directory: Path) -> KustomizeTree:
        """Walk `directory`'s Kustomization or Component: resources, components, patches and
        generators."""
        tree = cls(directory)
        kind = load_yaml(directory / "kustomization.yaml").get("kind", "Kustomization")
        tree._visit(directory, expected_kind=kind)
        return tree

    def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The objects of the resource files it includes (of `kind`, when given), unrendered."""
        return [doc for _, doc in self.documents if kind is None or doc.get("kind") == kind]

    def _visit(self, directory: Path, expected_kind: str) -> None:
        kustomization_file = directory / "kustomization.yaml"
        if not kustomization_file.is_file():
            raise FileNotFoundError(f"{directory} has no kustomization.yaml")
        kustomization = load_yaml(kustomization_file)
        if kustomization.get("kind", "Kustomization") != expected_kind:
            raise ValueError(
                f"{kustomization_file} is a {kustomization['kind']}, not a {expected_kind}"
            )
        self.kustomizations.append(kustomization_file)
        self.files.add(kustomization_file)
        for reference in kustomization.get("resources", []):
            self._visit_reference(directory / reference, "Kustomization")
        for reference in kustomization.get("components", []):
            self._visit_reference(directory / reference, "Component")
        for patch in kustomization.get("patches", []):
            if "path" in patch:
                self._require_file(directory / patch["path"])
        for generator in (
            *kustomization.get("configMapGenerator", []),
            *kustomization.get("secretGenerator", []),
        ):
            for reference in (*generator.get("envs", []), *generator.get("files", [])):
                self._require_file(directory / reference.split("=", 1)[-1])

    def _visit_reference(self, path: Path, expected_kind: str) -> None:
        if path.is_dir():
            self._visit(path, expected_kind)
            return
        self._require_file(path)
        for document in load_yaml_documents(path):
            self.documents.append((path, document))

    def _require_file(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"referenced by a kustomization but missing: {path}")
        self.files.add(path.resolve())


def kustomization_directories() -> list[Path]:
    """Every folder under deploy/k8s that holds a kustomization.yaml."""
    return sorted(path.parent for path in K8S.rglob("kustomization.yaml"))


def pod_templates(
    documents: list[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, pod spec) for every Deployment, StatefulSet and Job in `documents`."""
    for document in documents:
        if document.get("kind") in ("Deployment", "StatefulSet", "Job"):
            yield document, document["spec"]["template"]["spec"]


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Init containers and containers of a pod spec."""
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def find(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of `kind` named `name` (generated names carry a hash suffix)."""
    matches = [
        document
        for document in documents
        if document.get("kind") == kind
        and re.fullmatch(rf"{re.escape(name)}(-[a-z0-9]{{10}})?", document["metadata"]["name"])
    ]
    if len(matches) != 1:
        raise LookupError(f"expected one {kind} {name}, found {len(matches)}")
    return matches[0]


# ---------------------------------------------------------------- Grafana


def dashboards() -> dict[Path, dict[str, Any]]:
    """Every dashboard JSON under deploy/grafana/dashboards, parsed."""
    folder = GRAFANA / "dashboards"
    return {path: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of a dashboard, those nested in rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def prometheus_queries(dashboard: dict[str, Any]) -> list[str]:
    """The PromQL expressions of a dashboard's panels."""
    return [
        target["expr"]
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
        if target.get("datasource", {}).get("type") == "prometheus"
    ]


# ---------------------------------------------------------------- Dockerfile


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword, its arguments, and the stage it belongs to."""

    keyword: str
    arguments: str
    stage: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD/ENTRYPOINT/HEALTHCHECK CMD, else None."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text.partition("CMD ")[2].strip()
        if not text.startswith("["):
            return None
        parsed = json.loads(text)
        return [str(word) for word in parsed]


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = (pending + stripped).strip()
        pending = ""
        if not text:
            continue
        keyword, _, arguments = text.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, " ".join(arguments.split()), stage))
    return instructions


# ---------------------------------------------------------------- PromQL

_PROMQL_STRING = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'""")
_PROMQL_MATCHERS = re.compile(r"\{[^}]*\}")
_PROMQL_RANGE = re.compile(r"\[[^\]]*\]")
_PROMQL_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# An identifier that is not a function call (followed by "(") nor part of a number or variable.
_PROMQL_IDENTIFIER = re.compile(r"(?<![\w:$.])[a-zA-Z_:][a-zA-Z0-9_:]*(?![\w:])(?!\s*\()")
_PROMQL_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "sum", "min", "max", "avg"}
    | {"group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile"}
)


def promql_metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects (label names, functions, strings and keywords
    left out)."""
    text = _PROMQL_STRING.sub('""', expression)
    text = _PROMQL_MATCHERS.sub(" ", text)
    text = _PROMQL_RANGE.sub(" ", text)
    text = _PROMQL_GROUPING.sub(" ", text)
    return {name for name in _PROMQL_IDENTIFIER.findall(text) if name not in _PROMQL_KEYWORDS}
