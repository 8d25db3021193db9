"""docker-compose.yml and its development override: complete, pinned, ordered and consistent.

No Docker engine runs here, so these tests read the files the way compose does (interpolation with
.env.example, override merge) and check what `docker compose up` relies on.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError

from shopee_gateway.settings import GatewaySettings
from tests.deploy.conftest import installed_tool, run_tool
from tests.deploy.manifests import (
    COMPOSE_FILE,
    COMPOSE_OVERRIDE,
    DEMO_STEPS,
    DOCKERFILE,
    ENV_EXAMPLE,
    GRPC_SERVICES,
    PLATFORM_SERVICES,
    REPO,
    STATE_DIR,
    command_words,
    load_yaml,
    published_container_port,
    secret_env_names,
    settings_env_names,
    variables_used,
)

HEALTHY_CONDITIONS = {"service_healthy", "service_completed_successfully"}
# Services that build an image, and the image's name when it is not the service's.
BUILT_IMAGES = {**{name: name for name in PLATFORM_SERVICES}, "migrate": "migrate"}
BUILT_IMAGES["demo-labels"] = "generator"


def is_one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def listen_settings(name: str) -> tuple[str | None, str]:
    """The SHOPEE_* host and port settings a platform service serves on (its gRPC port for a gRPC
    service, which listens on every interface and has no host setting)."""
    if name in GRPC_SERVICES:
        return None, f"SHOPEE_{name.upper()}_GRPC_PORT"
    # The stream job's HTTP server is Faust's web server, hence WEB_ in its names.
    prefix = "SHOPEE_METRICS_WEB" if name == "metrics" else f"SHOPEE_{name.upper()}"
    return f"{prefix}_HOST", f"{prefix}_PORT"


def healthcheck_url(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "/app/healthcheck.py"], test
    return str(test[3])


def test_compose_files_match_the_compose_specification() -> None:
    validator = installed_tool("check-jsonschema")
    if validator is None:
        pytest.skip("check-jsonschema is not installed: the compose-spec schema check is skipped")
    result = run_tool(
        [
            validator,
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
            str(COMPOSE_OVERRIDE),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_used_is_defined_in_env_example_and_every_one_defined_is_used(
    env_example: dict[str, str],
) -> None:
    used = variables_used(COMPOSE_FILE.read_text()) | variables_used(COMPOSE_OVERRIDE.read_text())
    assert sorted(used - env_example.keys()) == [], "missing from .env.example"
    assert sorted(env_example.keys() - used) == [], ".env.example has variables nothing uses"


def test_every_image_is_pinned_to_a_version(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d", tag), f"{name}: {image} is not pinned to a version"


def test_kafka_image_is_the_version_the_local_stack_pins(compose: dict[str, Any]) -> None:
    pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text()
    version = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert version, "deploy/kafka/pom.xml has no kafka.version"
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{version[1]}"


def test_the_six_services_migrate_and_generator_are_built_from_the_shared_dockerfile(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    built = {name for name, service in compose["services"].items() if "build" in service}
    assert built == BUILT_IMAGES.keys()
    for name in built:
        service = compose["services"][name]
        build = service["build"]
        assert build["context"] == "."
        assert build["dockerfile"] == "deploy/docker/Dockerfile"
        assert build["args"]["PYTHON_IMAGE"] == env_example["PYTHON_IMAGE"]
        assert build["args"]["UV_IMAGE"] == env_example["UV_IMAGE"]
        registry, tag = env_example["IMAGE_REGISTRY"], env_example["IMAGE_TAG"]
        assert service["image"] == f"{registry}/{BUILT_IMAGES[name]}:{tag}"


def test_services_sharing_a_built_image_wait_for_the_service_that_builds_it(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    builder = {services[name]["image"]: name for name in BUILT_IMAGES}
    for name, service in services.items():
        image_builder = builder.get(service["image"])
        if image_builder is None or image_builder == name:
            continue
        assert "build" not in service, f"{name} builds {service['image']} a second time"
        assert image_builder in transitive_dependencies(services, name), (
            f"{name} runs {service['image']} without waiting for {image_builder}, which builds it"
        )


def transitive_dependencies(services: dict[str, Any], name: str) -> set[str]:
    found: set[str] = set()
    pending = [name]
    while pending:
        for dependency in services[pending.pop()].get("depends_on", {}):
            if dependency not in found:
                found.add(dependency)
                pending.append(dependency)
    return found


@pytest.mark.parametrize("name", list(BUILT_IMAGES))
def test_the_built_package_is_a_workspace_member(compose: dict[str, Any], name: str) -> None:
    args = compose["services"][name]["build"]["args"]
    member = REPO / args.get("SERVICE_DIR", f"services/{args['SERVICE']}")
    manifest = member / "pyproject.toml"
    # Only what can be built ships: a service without its package waits for its issue.
    assert manifest.exists(), f"{member.relative_to(REPO)} is not a workspace member"
    # `uv sync --frozen --package shopee-<SERVICE>` in the image needs it in the lock.
    lock = (REPO / "uv.lock").read_text()
    locked = f'name = "shopee-{args["SERVICE"]}"\nversion = "'
    assert locked in lock, "not in uv.lock"
    assert f'source = {{ editable = "{member.relative_to(REPO)}" }}' in lock, "not in uv.lock"
    project = manifest.read_text()
    assert f'name = "shopee-{args["SERVICE"]}"' in project
    assert f'shopee-{args["SERVICE"]} = "' in project, "the image runs this console script"


def test_long_running_services_have_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if is_one_shot(service):
            assert service["healthcheck"] == {"disable": True}, name
        elif name == "demo-stream":
            # A producer with no endpoint: nothing to ask, and nothing waits for it.
            assert service["restart"] == "unless-stopped"
            assert service["healthcheck"] == {"disable": True}
        else:
            assert service["restart"] == "unless-stopped", name
            assert service["healthcheck"]["test"], name
            assert not service["healthcheck"].get("disable", False), name


def test_one_shot_services_are_migrate_and_the_demo_set_up(compose: dict[str, Any]) -> None:
    one_shot = {name for name, service in compose["services"].items() if is_one_shot(service)}
    assert one_shot == {"migrate", "demo-labels", "demo-seed", "demo-history"}


def test_dependencies_wait_for_health_or_completion(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            assert condition in HEALTHY_CONDITIONS, f"{name} -> {dependency}: {condition}"
            target = services[dependency]
            if condition == "service_healthy":
                assert not is_one_shot(target), f"{dependency} exits"
                assert "test" in target["healthcheck"], f"{dependency} has no healthcheck"
            else:
                assert is_one_shot(target), f"{dependency} never completes"
            # A service of the core stack cannot wait for one of an optional profile.
            if not service.get("profiles"):
                assert not target.get("profiles"), f"{name} needs {dependency} of a profile"


def test_platform_services_wait_for_the_migrations_and_infrastructure(
    compose: dict[str, Any],
) -> None:
    for name in (*PLATFORM_SERVICES, "demo-history", "demo-stream"):
        depends_on = compose["services"][name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        for infrastructure in ("kafka", "timescaledb", "redis"):
            assert depends_on[infrastructure]["condition"] == "service_healthy", name


def test_the_gateway_waits_for_exactly_the_grpc_services_it_calls(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    targets = {
        name: value for name, value in gateway["environment"].items() if name.endswith("_TARGET")
    }
    called = {value.rsplit(":", 1)[0] for value in targets.values()}
    assert called == set(GRPC_SERVICES)
    for name, value in targets.items():
        host, port = value.rsplit(":", 1)
        assert compose["services"][host]["environment"][listen_settings(host)[1]] == port, name
    waited = {
        name
        for name, rule in gateway["depends_on"].items()
        if name in PLATFORM_SERVICES and rule["condition"] == "service_healthy"
    }
    assert waited == called


def test_migrate_creates_topics_and_upgrades_the_database(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["build"]["args"]["SERVICE"] == "db"
    script = command_words(migrate["command"])[-1]
    assert script == "shopee-topics create && shopee-db upgrade"


def test_optional_layers_are_profiles(compose: dict[str, Any]) -> None:
    profiles = {name: service.get("profiles", []) for name, service in compose["services"].items()}
    assert profiles["prometheus"] == profiles["grafana"] == ["monitoring"]
    assert all(profiles[name] == ["demo"] for name in DEMO_STEPS)
    core = {name for name, names in profiles.items() if not names}
    assert core == {"kafka", "timescaledb", "redis", "migrate", *PLATFORM_SERVICES}


@pytest.mark.parametrize("name", [*PLATFORM_SERVICES, "migrate", *DEMO_STEPS])
def test_platform_containers_run_locked_down(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    assert service["read_only"] is True
    assert service["tmpfs"] == ["/tmp"]  # noqa: S108 (the container's own tmpfs)
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    # tini forwards SIGTERM to the service, which drains before the grace period ends.
    assert service["init"] is True
    assert service["stop_grace_period"]


@pytest.mark.parametrize("name", PLATFORM_SERVICES)
def test_ports_agree_between_settings_healthcheck_image_and_publishing(
    compose: dict[str, Any], name: str
) -> None:
    service = compose["services"][name]
    host_setting, port_setting = listen_settings(name)
    if host_setting is None:
        # The code binds every interface itself: there is no setting to give.
        assert not any(key.endswith("_HOST") for key in settings_env_names(name)), name
    else:
        assert service["environment"][host_setting] == "0.0.0.0"  # noqa: S104 (in the container)
    port = int(service["environment"][port_setting])
    probe = urlsplit(healthcheck_url(service))
    image_probe = urlsplit(service["build"]["args"]["HEALTHCHECK_URL"])
    assert probe.port == image_probe.port == port
    if name in GRPC_SERVICES:
        assert probe.scheme == image_probe.scheme == "grpc"
    else:
        assert (probe.scheme, probe.path) == ("http", "/readyz")
        assert (image_probe.scheme, image_probe.path) == ("http", "/healthz")
    for mapping in service.get("ports", []):
        assert published_container_port(mapping) == port


def test_host_ports_are_published_once_and_only_on_the_publish_address(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    host_ports: list[str] = []
    for service in compose["services"].values():
        for mapping in service.get("ports", []):
            address, host_port, _ = str(mapping).split(":")
            assert address == env_example["PUBLISH_ADDRESS"]
            host_ports.append(host_port)
    assert len(host_ports) == len(set(host_ports)), sorted(host_ports)


def test_the_base_file_publishes_only_the_public_entry_points(compose_base: dict[str, Any]) -> None:
    published = {name for name, service in compose_base["services"].items() if service.get("ports")}
    assert published == {"ingest", "gateway", "prometheus", "grafana"}


def test_services_share_the_connection_settings(compose: dict[str, Any]) -> None:
    timescale = compose["services"]["timescaledb"]["environment"]
    expected_url = (
        f"postgresql://{timescale['POSTGRES_USER']}:{timescale['POSTGRES_PASSWORD']}"
        f"@timescaledb:5432/{timescale['POSTGRES_DB']}"
    )
    for name in (*PLATFORM_SERVICES, "migrate", *DEMO_STEPS):
        env = compose["services"][name]["environment"]
        assert env["SHOPEE_DATABASE_URL"] == expected_url, name
        assert env["SHOPEE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name
        assert env["SHOPEE_REDIS_URL"] == "redis://redis:6379/0", name
        assert all(key.startswith("SHOPEE_") for key in env), name


def test_every_setting_a_container_is_given_is_one_its_code_reads(compose: dict[str, Any]) -> None:
    services = compose["services"]
    build_args = {services[name]["image"]: services[name]["build"]["args"] for name in BUILT_IMAGES}
    checked = set()
    for name, service in services.items():
        args = build_args.get(service["image"])
        if args is None:
            continue  # a third-party image
        unread = set(service["environment"]) - settings_env_names(args["SERVICE"])
        assert not unread, f"{name} is given settings its code never reads: {sorted(unread)}"
        checked.add(name)
    assert checked == {*PLATFORM_SERVICES, "migrate", *DEMO_STEPS}


def test_the_stream_job_keeps_its_data_dir_on_its_volume(compose: dict[str, Any]) -> None:
    metrics = compose["services"]["metrics"]
    mounts = dict(str(volume).split(":")[:2] for volume in metrics["volumes"])
    assert mounts["metrics-state"] == metrics["environment"]["SHOPEE_METRICS_DATA_DIR"]
    assert "metrics-state" in compose["volumes"]


def test_kafka_advertises_listeners_it_has(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
    advertised = dict(item.split("://") for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert advertised.keys() <= listeners.keys() == protocols.keys()
    assert advertised["PLAINTEXT"] == "kafka:9092"
    host_port = advertised["HOST"].rsplit(":", 1)[1]
    published = [str(m) for m in compose["services"]["kafka"]["ports"]]
    assert published == [f"127.0.0.1:{host_port}:{listeners['HOST'].lstrip(':')}"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", "topics come from shopee-topics"


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
    prometheus_args = compose["services"]["prometheus"]["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus_args


def test_override_only_adds_ports_and_log_level() -> None:
    override = load_yaml(COMPOSE_OVERRIDE)
    for name, service in override["services"].items():
        assert set(service) <= {"ports", "environment"}, name
        assert set(service.get("environment", {})) <= {"SHOPEE_LOG_LEVEL"}, name


def test_env_example_is_documented_and_has_no_blank_secrets(env_example: dict[str, str]) -> None:
    text = ENV_EXAMPLE.read_text()
    assert text.startswith("#"), ".env.example starts with how to use it"
    for name in (
        "POSTGRES_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "SHOPEE_INGEST_API_KEYS",
        "DEMO_ADMIN_PASSWORD",
        "DEMO_INGEST_API_KEY",
    ):
        assert env_example[name], f"{name} is empty"


def test_the_jwt_signing_key_comes_from_env_and_the_example_ships_none(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    """No private key is committed: the example leaves it empty, which the gateway accepts only in
    development (a throwaway key), and refuses in any other environment."""
    raw = load_yaml(COMPOSE_FILE)["services"]["gateway"]["environment"]
    assert raw["SHOPEE_GATEWAY_JWT_SIGNING_KEY"] == "${SHOPEE_GATEWAY_JWT_SIGNING_KEY}"
    env = compose["services"]["gateway"]["environment"]
    key = env["SHOPEE_GATEWAY_JWT_SIGNING_KEY"]
    assert key == "", ".env.example must not carry a private key"
    assert env["SHOPEE_ENVIRONMENT"] == "development"
    database = env["SHOPEE_DATABASE_URL"]
    GatewaySettings(environment="development", database_url=database, gateway_jwt_signing_key=key)
    for environment in ("test", "production"):
        with pytest.raises(ValidationError, match="SHOPEE_GATEWAY_JWT_SIGNING_KEY"):
            GatewaySettings(
                environment=environment, database_url=database, gateway_jwt_signing_key=key
            )


def test_secret_settings_come_from_env_never_from_the_compose_file() -> None:
    raw = load_yaml(COMPOSE_FILE)["services"]
    build_args = {raw[name]["image"]: raw[name]["build"]["args"] for name in BUILT_IMAGES}
    checked = set()
    for name, service in raw.items():
        args = build_args.get(service["image"])
        if args is None:
            continue
        secrets = secret_env_names(args["SERVICE"])
        for variable, value in service.get("environment", {}).items():
            if variable in secrets:
                assert "${" in str(value), f"{name}: {variable} is written in docker-compose.yml"
                checked.add((name, variable))
    assert {
        ("gateway", "SHOPEE_GATEWAY_JWT_SIGNING_KEY"),
        ("ingest", "SHOPEE_INGEST_API_KEYS"),
        *((name, "SHOPEE_DATABASE_URL") for name in (*PLATFORM_SERVICES, "migrate")),
    } <= checked


def test_the_gateway_public_url_is_where_compose_publishes_it(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    env = compose["services"]["gateway"]["environment"]
    public = urlsplit(env["SHOPEE_GATEWAY_PUBLIC_URL"])
    assert public.hostname == env_example["PUBLISH_ADDRESS"]
    assert str(public.port) == env_example["GATEWAY_HOST_PORT"]
    origins = env["SHOPEE_GATEWAY_ALLOWED_ORIGINS"].split(",")
    assert f"{public.scheme}://{public.netloc}" in origins, "the gateway's own pages are allowed"
    for origin in origins:
        assert urlsplit(origin).port == public.port, origin


def test_volumes_are_mounted_where_the_image_lets_uid_10001_write(
    compose: dict[str, Any],
) -> None:
    # A new named volume takes the owner of the image's folder it is mounted on.
    assert f"install -d -o 10001 -g 10001 -m 0750 {STATE_DIR}" in DOCKERFILE.read_text()
    mounted = 0
    for name in (*PLATFORM_SERVICES, *DEMO_STEPS):
        for volume in compose["services"][name].get("volumes", []):
            source, target = str(volume).split(":")[:2]
            assert source in compose["volumes"], f"{name}: {source} is not a named volume"
            assert target == STATE_DIR, f"{name} mounts {source} at {target}"
            mounted += 1
    assert mounted


@pytest.mark.parametrize("name", GRPC_SERVICES)
def test_model_artefacts_are_kept_on_the_shared_volume(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    root = service["environment"][f"SHOPEE_{name.upper()}_ARTEFACT_ROOT"]
    mounts = {
        target: source for source, target in (str(v).split(":")[:2] for v in service["volumes"])
    }
    assert root.startswith(f"{STATE_DIR}/"), root
    # The registry table records each artefact's path: every service reading the registry sees
    # the same files at the same path.
    assert mounts[STATE_DIR] == "model-artefacts"
