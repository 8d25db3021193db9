"""deploy/k8s, read from its files: the kustomize tree resolves, and every workload is locked down,
probed, sized and configured like its docker-compose counterpart. The rendered overlays are checked
in test_kubernetes_rendered.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError

from shopee_gateway.settings import GatewaySettings
from tests.deploy.manifests import (
    GRPC_SERVICES,
    K8S,
    PLATFORM_IMAGE_PREFIXES,
    PLATFORM_SERVICES,
    PROMETHEUS,
    REPO,
    STATE_DIR,
    KustomizeTree,
    containers,
    find,
    kustomization_directories,
    load_yaml,
    load_yaml_documents,
    pod_templates,
    secret_env_names,
    settings_env_names,
)

TMP = "/tmp"  # noqa: S108 (a path inside the containers, an emptyDir there)
# Settings whose values depend on where clients reach the gateway, not on the platform: they
# differ between compose and Kubernetes (and its overlays).
WHERE_CLIENTS_ARE = frozenset({"SHOPEE_GATEWAY_PUBLIC_URL", "SHOPEE_GATEWAY_ALLOWED_ORIGINS"})


def base_documents() -> list[dict[str, Any]]:
    return KustomizeTree.load(K8S / "base").objects()


def component_documents(name: str, kind: str | None = None) -> list[dict[str, Any]]:
    return KustomizeTree.load(K8S / "components" / name).objects(kind)


def env_names(container: dict[str, Any], config: dict[str, Any]) -> set[str]:
    """Names a container sees: its env entries plus the keys of the ConfigMaps it loads."""
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"].startswith("shopee-config")
        names |= set(config["data"])
    return names


def base_config() -> dict[str, Any]:
    kustomization = load_yaml(K8S / "base" / "kustomization.yaml")
    (generator,) = kustomization["configMapGenerator"]
    return {"data": dict(item.split("=", 1) for item in generator["literals"])}


def generated_literals(directory: Path, kind: str) -> dict[str, dict[str, str]]:
    """The literals of a kustomization's ConfigMap or Secret generators, by generated name."""
    kustomization = load_yaml(directory / "kustomization.yaml")
    key = "configMapGenerator" if kind == "ConfigMap" else "secretGenerator"
    return {
        generator["name"]: dict(item.split("=", 1) for item in generator.get("literals", []))
        for generator in kustomization.get(key, [])
    }


def image_packages(compose: dict[str, Any]) -> dict[str, str]:
    """Image name (no tag) -> the workspace member it is built from (the compose build args)."""
    return {
        service["image"].rpartition(":")[0]: service["build"]["args"]["SERVICE"]
        for service in compose["services"].values()
        if "build" in service
    }


def platform_containers() -> list[tuple[str, dict[str, Any]]]:
    """(workload name, container) of every platform pod: the base and the demo component."""
    return [
        (workload["metadata"]["name"], container)
        for source in (base_documents(), component_documents("demo"))
        for workload, pod in pod_templates(source)
        for container in containers(pod)
    ]


# ---------------------------------------------------------------- the tree itself


def test_every_kustomization_resolves_and_every_yaml_file_is_used() -> None:
    used: set[Path] = set()
    for directory in kustomization_directories():
        used |= {path.resolve() for path in KustomizeTree.load(directory).files}
    every_yaml = {path.resolve() for path in K8S.rglob("*.yaml")} | {
        path.resolve() for path in K8S.rglob("*.env")
    }
    assert sorted(str(p.relative_to(REPO)) for p in every_yaml - used) == []


def test_every_yaml_document_has_kind_and_name() -> None:
    for path in K8S.rglob("*.yaml"):
        for document in load_yaml_documents(path):
            assert document.get("kind"), path
            assert document.get("apiVersion"), path
            if document["kind"] not in ("Kustomization", "Component"):
                assert document["metadata"]["name"], path


def test_overlays_use_the_base_and_the_expected_components() -> None:
    dev = load_yaml(K8S / "overlays" / "dev" / "kustomization.yaml")
    prod = load_yaml(K8S / "overlays" / "prod" / "kustomization.yaml")
    assert "../../base" in dev["resources"]
    assert "../../base" in prod["resources"]
    assert dev["components"] == ["../../components/dev-infra", "../../components/demo"]
    assert prod["components"] == [
        "../../components/network-policies",
        "../../components/service-monitors",
    ]
    assert "secretGenerator" not in prod, "production secrets are created outside git"


# ---------------------------------------------------------------- workloads (source files)


def test_metrics_is_a_stateful_set_with_a_volume_for_its_table_state() -> None:
    documents = base_documents()
    stream_job = find(documents, "StatefulSet", "metrics")
    (claim,) = stream_job["spec"]["volumeClaimTemplates"]
    (container,) = stream_job["spec"]["template"]["spec"]["containers"]
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    env = {entry["name"]: entry.get("value") for entry in container["env"]}
    assert mounts[claim["metadata"]["name"]] == env["SHOPEE_METRICS_DATA_DIR"] == "/var/lib/shopee"
    assert stream_job["spec"]["serviceName"] == "metrics"
    assert find(documents, "Service", "metrics")["spec"]["clusterIP"] == "None"
    deployments = {d["metadata"]["name"] for d in documents if d["kind"] == "Deployment"}
    assert deployments == set(PLATFORM_SERVICES) - {"metrics"}


@pytest.mark.parametrize("source", ["base", "demo"])
def test_platform_pods_are_locked_down_and_sized(source: str) -> None:
    documents = base_documents() if source == "base" else component_documents(source)
    accounts = {d["metadata"]["name"] for d in documents if d["kind"] == "ServiceAccount"}
    checked = 0
    for workload, pod in pod_templates(documents):
        name = workload["metadata"]["name"]
        checked += 1
        assert pod["serviceAccountName"] in accounts, name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"] == pod["securityContext"] | {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        }, name
        if workload["kind"] != "Job":
            assert pod["terminationGracePeriodSeconds"] >= 30, name
        writable = {volume["name"] for volume in pod.get("volumes", [])}
        for container in containers(pod):
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "privileged": False,
                "capabilities": {"drop": ["ALL"]},
            }, name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][bound].keys(), name
            image, _, tag = container["image"].rpartition(":")
            assert image.startswith(PLATFORM_IMAGE_PREFIXES), name
            assert tag not in ("", "latest"), name
            # A read-only root filesystem needs a writable /tmp.
            (tmp,) = [m for m in container["volumeMounts"] if m["mountPath"] == TMP]
            assert tmp["name"] in writable, name
    assert checked > 0


@pytest.mark.parametrize("name", PLATFORM_SERVICES)
def test_services_are_probed_the_way_they_answer(name: str) -> None:
    documents = base_documents()
    kind = "StatefulSet" if name == "metrics" else "Deployment"
    (container,) = find(documents, kind, name)["spec"]["template"]["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    if name in GRPC_SERVICES:
        # Alive while the gRPC server answers its health service; ready once /readyz (on the
        # HTTP port the code serves it on) finds the dependencies answering.
        env = {entry["name"]: entry.get("value") for entry in container["env"]}
        assert ports["grpc"] == int(env[f"SHOPEE_{name.upper()}_GRPC_PORT"])
        assert ports["http"] == int(env[f"SHOPEE_{name.upper()}_HTTP_PORT"])
        assert container["startupProbe"]["grpc"] == {"port": ports["grpc"]}
        assert liveness["grpc"] == {"port": ports["grpc"]}
        assert readiness["httpGet"] == {"path": "/readyz", "port": "http"}
    else:
        assert liveness["httpGet"] == {"path": "/healthz", "port": "http"}
        assert readiness["httpGet"] == {"path": "/readyz", "port": "http"}
    assert liveness["failureThreshold"] * liveness["periodSeconds"] >= 30, "no restart on a blip"


@pytest.mark.parametrize("name", PLATFORM_SERVICES)
def test_services_route_to_named_container_ports(name: str) -> None:
    documents = base_documents()
    kind = "StatefulSet" if name == "metrics" else "Deployment"
    workload = find(documents, kind, name)
    service = find(documents, "Service", name)
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert workload["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    container_ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    for port in service["spec"]["ports"]:
        assert container_ports[port["targetPort"]] == port["port"], name
    annotations = workload["spec"]["template"]["metadata"]["annotations"]
    metrics_port = container_ports.get("metrics", container_ports.get("http"))
    assert annotations["prometheus.io/port"] == str(metrics_port)


@pytest.mark.parametrize("name", PLATFORM_SERVICES)
def test_env_names_match_docker_compose(compose: dict[str, Any], name: str) -> None:
    kind = "StatefulSet" if name == "metrics" else "Deployment"
    (container,) = find(base_documents(), kind, name)["spec"]["template"]["spec"]["containers"]
    compose_env = compose["services"][name]["environment"]
    assert env_names(container, base_config()) == set(compose_env)
    for entry in container["env"]:
        if "value" in entry and entry["name"] not in WHERE_CLIENTS_ARE:
            # Listen ports, paths and in-cluster addresses are the same in both.
            assert entry["value"] == compose_env[entry["name"]], entry["name"]


def test_migrate_job_creates_topics_then_upgrades_the_database() -> None:
    job = find(base_documents(), "Job", "migrate")
    pod = job["spec"]["template"]["spec"]
    (create_topics,) = pod["initContainers"]
    (upgrade,) = pod["containers"]
    assert create_topics["command"] + create_topics["args"][:1] == ["shopee-topics", "create"]
    assert upgrade["command"] + upgrade["args"] == ["shopee-db", "upgrade"]
    assert pod["restartPolicy"] == "Never"


def test_images_and_config_match_docker_compose(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    images = {
        c["image"]
        for _, pod in pod_templates(base_documents() + component_documents("demo"))
        for c in containers(pod)
    }
    assert images == {
        compose["services"][name]["image"]
        for name in (*PLATFORM_SERVICES, "migrate", "demo-labels")
    }
    infra = {
        c["image"]
        for _, pod in pod_templates(component_documents("dev-infra"))
        for c in containers(pod)
    }
    assert infra == {
        env_example["KAFKA_IMAGE"],
        env_example["TIMESCALEDB_IMAGE"],
        env_example["REDIS_IMAGE"],
    }
    assert base_config()["data"]["SHOPEE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_prometheus_rule_carries_the_alert_rules_file() -> None:
    (rule,) = component_documents("service-monitors", "PrometheusRule")
    assert rule["spec"] == load_yaml(PROMETHEUS / "rules" / "platform-alerts.yml")


def test_service_monitors_scrape_named_ports_of_each_service() -> None:
    monitors = component_documents("service-monitors", "ServiceMonitor")
    assert {m["metadata"]["name"] for m in monitors} == set(PLATFORM_SERVICES)
    documents = base_documents()
    for monitor in monitors:
        service = find(documents, "Service", monitor["metadata"]["name"])
        assert (
            monitor["spec"]["selector"]["matchLabels"].items()
            <= service["metadata"]["labels"].items()
        )
        port_names = {port["name"] for port in service["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in port_names
            assert endpoint["path"] == "/metrics"
        assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name", "alert rules select job"


def test_network_policies_open_the_ports_containers_listen_on() -> None:
    policies = component_documents("network-policies", "NetworkPolicy")
    listening = {
        port["containerPort"]
        for _, pod in pod_templates(base_documents())
        for c in containers(pod)
        for port in c.get("ports", [])
    }
    assert any(p["spec"]["podSelector"] == {} for p in policies), "no default deny"
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                assert port["port"] in listening, policy["metadata"]["name"]


def test_prod_has_budgets_and_autoscalers_for_the_public_apis() -> None:
    prod = K8S / "overlays" / "prod"
    budgets = load_yaml_documents(prod / "pod-disruption-budgets.yaml")
    scalers = load_yaml_documents(prod / "horizontal-pod-autoscalers.yaml")
    budgeted = {b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for b in budgets}
    scaled = {s["spec"]["scaleTargetRef"]["name"] for s in scalers}
    assert {"ingest", "gateway"} <= budgeted
    assert {"ingest", "gateway"} <= scaled
    replicas = {r["name"]: r["count"] for r in load_yaml(prod / "kustomization.yaml")["replicas"]}
    for scaler in scalers:
        assert replicas[scaler["spec"]["scaleTargetRef"]["name"]] == scaler["spec"]["minReplicas"]


def test_prod_secret_keys_are_documented() -> None:
    docs = (REPO / "docs" / "deploy.md").read_text()
    keys = {
        entry["valueFrom"]["secretKeyRef"]["key"]
        for _, pod in pod_templates(base_documents())
        for c in containers(pod)
        for entry in c.get("env", [])
        if "secretKeyRef" in entry.get("valueFrom", {})
    }
    assert keys, "the base reads its secrets from shopee-secrets"
    for key in keys:
        assert key in docs, f"docs/deploy.md does not tell how to set {key}"


def test_dev_secrets_point_at_the_dev_infrastructure() -> None:
    dev = load_yaml(K8S / "overlays" / "dev" / "kustomization.yaml")
    (secrets,) = dev["secretGenerator"]
    values = dict(item.split("=", 1) for item in secrets["literals"])
    infra = load_yaml(K8S / "components" / "dev-infra" / "kustomization.yaml")
    (credentials,) = infra["secretGenerator"]
    database = dict(item.split("=", 1) for item in credentials["literals"])
    assert values["SHOPEE_DATABASE_URL"] == (
        f"postgresql://{database['POSTGRES_USER']}:{database['POSTGRES_PASSWORD']}"
        f"@timescaledb:5432/{database['POSTGRES_DB']}"
    )


def test_every_setting_a_pod_is_given_is_one_its_code_reads(compose: dict[str, Any]) -> None:
    packages = image_packages(compose)
    config_maps = {
        **generated_literals(K8S / "base", "ConfigMap"),
        **generated_literals(K8S / "components" / "demo", "ConfigMap"),
    }
    checked = set()
    expanded: set[str] = set()
    loaded: set[str] = set()
    for workload, container in platform_containers():
        package = packages[container["image"].rpartition(":")[0]]
        given = {entry["name"] for entry in container.get("env", [])}
        from_config_maps = {
            name
            for source in container.get("envFrom", [])
            for name in config_maps[source["configMapRef"]["name"]]
        }
        where = f"{workload}/{container['name']}"
        settings = {name for name in given | from_config_maps if name.startswith("SHOPEE_")}
        unread = settings - settings_env_names(package)
        assert not unread, f"{where} is given settings its code never reads: {sorted(unread)}"
        # Anything else is there to be expanded into the arguments, as $(NAME).
        words = " ".join([*container.get("command", []), *container.get("args", [])])
        used = set(re.findall(r"\$\((\w+)\)", words))
        assert used <= given | from_config_maps, f"{where} expands an undefined variable"
        assert given - settings <= used, f"{where} is given variables it never uses"
        expanded |= used
        loaded |= from_config_maps - settings
        checked.add(package)
    assert loaded <= expanded, f"ConfigMap keys nothing uses: {sorted(loaded - expanded)}"
    assert checked == set(packages.values())


def test_secret_settings_come_from_the_secret(compose: dict[str, Any]) -> None:
    packages = image_packages(compose)
    assert not secret_env_names("gateway") & base_config()["data"].keys()
    checked = 0
    for workload, container in platform_containers():
        secrets = secret_env_names(packages[container["image"].rpartition(":")[0]])
        for entry in container.get("env", []):
            if entry["name"] not in secrets:
                continue
            checked += 1
            assert "value" not in entry, f"{workload}: {entry['name']} is written in the manifest"
            reference = entry["valueFrom"]["secretKeyRef"]
            assert reference["key"] == entry["name"], workload
            assert not reference.get("optional", False), f"{workload} may start without it"
    assert checked


def test_the_gateway_signs_tokens_with_the_key_of_the_secret() -> None:
    gateway = find(base_documents(), "Deployment", "gateway")
    (container,) = gateway["spec"]["template"]["spec"]["containers"]
    env = {entry["name"]: entry for entry in container["env"]}
    assert env["SHOPEE_GATEWAY_JWT_SIGNING_KEY"] == {
        "name": "SHOPEE_GATEWAY_JWT_SIGNING_KEY",
        "valueFrom": {
            "secretKeyRef": {"name": "shopee-secrets", "key": "SHOPEE_GATEWAY_JWT_SIGNING_KEY"}
        },
    }
    # Production refuses an empty key; development (the dev overlay) makes a throwaway one, so no
    # private key is kept in git.
    dev = K8S / "overlays" / "dev"
    key = generated_literals(dev, "Secret")["shopee-secrets"]["SHOPEE_GATEWAY_JWT_SIGNING_KEY"]
    assert key == ""
    dev_config = generated_literals(dev, "ConfigMap")["shopee-config"]
    assert dev_config["SHOPEE_ENVIRONMENT"] == "development"
    GatewaySettings(environment="development", gateway_jwt_signing_key=key)
    assert base_config()["data"]["SHOPEE_ENVIRONMENT"] == "production"
    with pytest.raises(ValidationError, match="SHOPEE_GATEWAY_JWT_SIGNING_KEY"):
        GatewaySettings(
            environment="production",
            database_url="postgresql://user:real-password@db:5432/shopee",
            gateway_jwt_signing_key=key,
        )


@pytest.mark.parametrize("name", GRPC_SERVICES)
def test_model_artefacts_are_on_the_shared_claim(name: str) -> None:
    documents = base_documents()
    pod = find(documents, "Deployment", name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {entry["name"]: entry.get("value") for entry in container["env"]}
    root = env[f"SHOPEE_{name.upper()}_ARTEFACT_ROOT"]
    claims = {
        volume["name"]: volume["persistentVolumeClaim"]["claimName"]
        for volume in pod["volumes"]
        if "persistentVolumeClaim" in volume
    }
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert root.startswith(f"{STATE_DIR}/")
    assert claims[mounts[STATE_DIR]] == "model-artefacts"
    assert pod["securityContext"]["fsGroup"] == 10001, "the claim is writable for uid 10001"
    claim = find(documents, "PersistentVolumeClaim", "model-artefacts")
    # Every replica of either service may load a model another one wrote.
    prod = load_yaml(K8S / "overlays" / "prod" / "kustomization.yaml")
    replicas = {r["name"]: r["count"] for r in prod["replicas"]}
    if replicas.get(name, 1) > 1:
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_network_policies_open_exactly_the_platforms_paths() -> None:
    policies = component_documents("network-policies", "NetworkPolicy")
    workloads = {w["metadata"]["name"] for w, _ in pod_templates(base_documents())}
    text = (K8S / "components" / "network-policies" / "network-policies.yaml").read_text()
    # Every app a policy names exists (no rule left for a service that is not shipped).
    named: set[str] = set()
    for match in re.finditer(r"app\.kubernetes\.io/name: (\S+)|values: \[([^\]]*)\]", text):
        named |= {v.strip() for v in (match[1] or match[2]).split(",")}
    assert named <= workloads, sorted(named - workloads)
    grpc_from: dict[str, set[tuple[str, int]]] = {}
    for policy in policies:
        selected = policy["spec"]["podSelector"].get("matchLabels", {})
        service = selected.get("app.kubernetes.io/name")
        if service not in GRPC_SERVICES:
            continue
        for rule in policy["spec"]["ingress"]:
            for peer in rule["from"]:
                client = peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                for port in rule["ports"]:
                    grpc_from.setdefault(service, set()).add((client, port["port"]))
    assert grpc_from == {"forecast": {("gateway", 50051)}, "insights": {("gateway", 50052)}}


def test_prod_gateway_public_url_is_the_ingress_host() -> None:
    prod = K8S / "overlays" / "prod"
    ingress = find(load_yaml_documents(prod / "ingress.yaml"), "Ingress", "shopee-analytics")
    (host,) = [
        rule["host"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
        if path["backend"]["service"]["name"] == "gateway"
    ]
    assert any(host in tls["hosts"] for tls in ingress["spec"]["tls"])
    (patch,) = load_yaml_documents(prod / "gateway-public-url.yaml")
    (container,) = patch["spec"]["template"]["spec"]["containers"]
    env = {entry["name"]: entry["value"] for entry in container["env"]}
    assert env["SHOPEE_GATEWAY_PUBLIC_URL"] == f"https://{host}"
    origins = env["SHOPEE_GATEWAY_ALLOWED_ORIGINS"].split(",")
    assert f"https://{host}" in origins
    assert all(urlsplit(origin).scheme == "https" for origin in origins)
    assert {"path": "gateway-public-url.yaml"} in load_yaml(prod / "kustomization.yaml")["patches"]
