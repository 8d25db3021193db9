"""The demo world, in compose (profile `demo`) and in Kubernetes (components/demo), does what
scripts/demo does, in its order: labels, then seed-demo (the shops exist before any event), then
the history written once, then the live stream; every command is one the real command lines accept,
and labels, history and stream describe the same world."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import pytest

from shopee_common.api_keys import key_prefix
from tests.deploy.commands import parse_generator, parse_shopee_db
from tests.deploy.manifests import (
    DEMO_STEPS,
    K8S,
    KustomizeTree,
    command_words,
    find,
    load_yaml,
)

DEMO = K8S / "components" / "demo"
# Kubernetes container of components/demo -> the compose service doing the same step.
COMPOSE_STEP = {
    "labels": "demo-labels",
    "seed": "demo-seed",
    "history": "demo-history",
    "stream": "demo-stream",
}
HISTORY_ONCE = re.compile(
    r"test -f (?P<marker>\S+) \|\| \{ (?P<history>shopee-generator history [^&]+) "
    r"&& date -u \+%FT%TZ >(?P=marker); \}"
)
_KUBERNETES_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def compose_command(compose: dict[str, Any], name: str) -> list[str]:
    return command_words(compose["services"][name]["command"])


def volume_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> named volume of a compose service."""
    return {
        target: source
        for source, target, *_ in (str(volume).split(":") for volume in service.get("volumes", []))
    }


# ---------------------------------------------------------------- compose


def test_the_steps_wait_for_each_other_in_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for before, after in itertools.pairwise(DEMO_STEPS):
        depends_on = services[after]["depends_on"]
        assert depends_on[before]["condition"] == "service_completed_successfully", after
    seed = services["demo-seed"]["depends_on"]
    assert seed["migrate"]["condition"] == "service_completed_successfully", "tables first"
    assert seed["timescaledb"]["condition"] == "service_healthy"


def test_every_step_runs_a_command_its_program_accepts(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    labels = parse_generator(compose_command(compose, "demo-labels"))
    history = parse_generator(compose_command(compose, "demo-history"))
    stream = parse_generator(compose_command(compose, "demo-stream"))
    seed = parse_shopee_db(compose_command(compose, "demo-seed"))
    assert (labels.command, history.command, stream.command) == ("labels", "history", "stream")
    assert seed.command == "seed-demo"
    assert history.params["out"] is None, "history goes to Kafka"
    assert stream.params["pace"] == env_example["DEMO_PACE"] == "on-time"
    assert stream.params["duration"] is None, "the live stream runs until stopped"


def test_labels_history_and_stream_describe_the_same_world(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    calls = [
        parse_generator(compose_command(compose, name))
        for name in DEMO_STEPS
        if name != "demo-seed"
    ]
    worlds = [call.world() for call in calls]
    assert worlds[0] == worlds[1] == worlds[2]
    # The history's last day is kept by the first run on the shared volume, so a stream
    # restarted on a later day still carries on the history's world.
    end_file = worlds[0]["end_file"]
    assert end_file is not None
    for name in ("demo-labels", "demo-history", "demo-stream"):
        mounts = volume_mounts(compose["services"][name])
        assert mounts.get(str(end_file.parent)) == "demo-data", name
    assert worlds[0]["days"] == int(env_example["DEMO_DAYS"])
    assert worlds[0]["shops"] == int(env_example["DEMO_SHOPS"])


def test_the_seed_registers_the_shops_of_the_labels_file_on_the_shared_volume(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    services = compose["services"]
    labels_file = parse_generator(compose_command(compose, "demo-labels")).params["out"]
    seed = parse_shopee_db(compose_command(compose, "demo-seed"))
    history = parse_generator(compose_command(compose, "demo-history"))
    assert seed.shops_file == history.params["labels"] == labels_file
    folder = str(labels_file.parent)
    volumes = {volume_mounts(services[name]).get(folder) for name in DEMO_STEPS[:3]}
    assert volumes == {"demo-data"}, "labels, seed and history share the demo-data volume"
    assert "demo-data" in compose["volumes"]
    assert seed.admin_password == env_example["DEMO_ADMIN_PASSWORD"]
    assert seed.api_key == env_example["DEMO_INGEST_API_KEY"]
    assert key_prefix(seed.api_key), "seed-demo refuses a malformed key"


def test_the_history_is_written_once_and_marked_done_only_after_it_succeeded(
    compose: dict[str, Any],
) -> None:
    (script,) = compose_command(compose, "demo-history")[2:]
    written_once = HISTORY_ONCE.fullmatch(script)
    assert written_once, script
    marker = written_once["marker"]
    mounts = volume_mounts(compose["services"]["demo-history"])
    assert mounts[marker.rsplit("/", 1)[0]] == "demo-data", "the marker outlives the container"


# ---------------------------------------------------------------- Kubernetes


@dataclass(frozen=True)
class DemoComponent:
    """components/demo's objects, and what its generated ConfigMap and Secret hold."""

    documents: list[dict[str, Any]]
    settings: dict[str, str]  # ConfigMap demo-settings
    credentials: dict[str, str]  # Secret demo-credentials

    def pod(self) -> dict[str, Any]:
        deployment = find(self.documents, "Deployment", "demo-generator")
        pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
        return pod

    def containers(self) -> dict[str, dict[str, Any]]:
        pod = self.pod()
        return {c["name"]: c for c in [*pod["initContainers"], *pod["containers"]]}

    def words(self, container: dict[str, Any]) -> list[str]:
        """command + args with the $(NAME) references the kubelet expands, expanded."""
        values = self.settings | self.credentials
        words = [*container["command"], *container.get("args", [])]
        return [_KUBERNETES_REFERENCE.sub(lambda match: values[match[1]], word) for word in words]


def literals(generators: list[dict[str, Any]], name: str) -> dict[str, str]:
    (generator,) = [g for g in generators if g["name"] == name]
    return dict(item.split("=", 1) for item in generator["literals"])


@pytest.fixture(scope="module")
def component() -> DemoComponent:
    kustomization = load_yaml(DEMO / "kustomization.yaml")
    return DemoComponent(
        documents=KustomizeTree.load(DEMO).objects(),
        settings=literals(kustomization["configMapGenerator"], "demo-settings"),
        credentials=literals(kustomization["secretGenerator"], "demo-credentials"),
    )


def test_the_init_containers_run_the_compose_steps_in_order_then_the_stream(
    component: DemoComponent,
) -> None:
    deployment = find(component.documents, "Deployment", "demo-generator")
    pod = component.pod()
    assert [c["name"] for c in pod["initContainers"]] == ["labels", "seed", "history"]
    assert [c["name"] for c in pod["containers"]] == ["stream"]
    # One producer of one world, on a ReadWriteOnce volume.
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_each_container_runs_its_compose_step(
    compose: dict[str, Any], component: DemoComponent
) -> None:
    for name, container in component.containers().items():
        step = COMPOSE_STEP[name]
        assert container["image"] == compose["services"][step]["image"], step
        words = component.words(container)
        if step != "demo-seed":
            # The same world and pace as compose: components/demo's values = .env.example's.
            assert words == compose_command(compose, step), step
            continue
        seed, compose_seed = parse_shopee_db(words), parse_shopee_db(compose_command(compose, step))
        credentials = {"admin_password", "api_key"}
        assert {k: v for k, v in vars(seed).items() if k not in credentials} == {
            k: v for k, v in vars(compose_seed).items() if k not in credentials
        }
        assert key_prefix(seed.api_key), "seed-demo refuses a malformed key"


def test_containers_get_the_settings_compose_gives_and_use_every_other_variable(
    compose: dict[str, Any], component: DemoComponent
) -> None:
    base = load_yaml(K8S / "base" / "kustomization.yaml")
    configmaps = {
        "shopee-config": literals(base["configMapGenerator"], "shopee-config"),
        "demo-settings": component.settings,
    }
    for name, container in component.containers().items():
        step = COMPOSE_STEP[name]
        given = {entry["name"] for entry in container.get("env", [])}
        loaded: set[str] = set()
        for source in container.get("envFrom", []):
            loaded |= set(configmaps[source["configMapRef"]["name"]])
        settings = {name for name in given | loaded if name.startswith("SHOPEE_")}
        assert settings == set(compose["services"][step]["environment"]), step
        referenced = set(
            _KUBERNETES_REFERENCE.findall(" ".join([*container["command"], *container["args"]]))
        )
        assert referenced <= given | loaded, f"{step}: $(...) of a variable it does not have"
        # (a loaded ConfigMap may hold more than one container uses; an env entry is deliberate)
        others = {name for name in given if not name.startswith("SHOPEE_")}
        assert others <= referenced, f"{step} is given {sorted(others - referenced)} for nothing"


def test_the_labels_file_the_history_marker_and_its_end_live_on_the_claimed_volume(
    component: DemoComponent,
) -> None:
    pod = component.pod()
    (claim,) = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    find(component.documents, "PersistentVolumeClaim", claim["persistentVolumeClaim"]["claimName"])
    containers = component.containers()
    labels_file = parse_generator(component.words(containers["labels"])).params["out"]
    seed = parse_shopee_db(component.words(containers["seed"]))
    history = parse_generator(component.words(containers["history"]))
    assert seed.shops_file == history.params["labels"] == labels_file
    (history_script,) = component.words(containers["history"])[2:]
    written_once = HISTORY_ONCE.fullmatch(history_script)
    assert written_once, history_script
    end_file = parse_generator(component.words(containers["stream"])).params["end_file"]
    assert end_file == history.params["end_file"] is not None
    folders = {
        "labels": str(labels_file.parent),
        "seed": str(labels_file.parent),
        "history": written_once["marker"].rsplit("/", 1)[0],
        "stream": str(end_file.parent),
    }
    for name, folder in folders.items():
        mounts = {m["mountPath"]: m["name"] for m in containers[name]["volumeMounts"]}
        assert mounts[folder] == claim["name"], name
