"""docker-compose.yml and its development override: complete, pinned, ordered and consistent.

No Docker engine runs here, so these tests read the files the way compose does (interpolation with
.env.example, override merge) and check what `docker compose up` relies on.
"""

from __future__ import annotations

import importlib
import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from shopee_common.settings import PlatformSettings
from tests.deploy.conftest import installed_tool, run_tool
from tests.deploy.manifests import (
    COMPOSE_FILE,
    COMPOSE_OVERRIDE,
    DEMO_STEPS,
    ENV_EXAMPLE,
    GRPC_SERVICES,
    PLATFORM_SERVICES,
    REPO,
    command_words,
    load_yaml,
    published_container_port,
    variables_used,
)

HEALTHY_CONDITIONS = {"service_healthy", "service_completed_successfully"}
# Services that build an image, and the image's name when it is not the service's.
BUILT_IMAGES = {**{name: name for name in PLATFORM_SERVICES}, "migrate": "migrate"}
BUILT_IMAGES["demo-labels"] = "generator"


def is_one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def listen_settings(name: str) -> tuple[str, str]:
    """The SHOPEE_* host and port settings a platform service serves on."""
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
    if not manifest.exists():
        pytest.skip(f"{member.relative_to(REPO)} is not a workspace member yet")
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
    gateway = compose["services"]["gateway"]["depends_on"]
    assert {"forecast", "insights", "alerts"} <= gateway.keys()


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
    assert service["environment"][host_setting] == "0.0.0.0"  # noqa: S104 (inside the container)
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


def settings_env_names(service: str) -> set[str]:
    """The variables workspace member `shopee-<service>` reads: the fields of the settings classes
    in its `settings` module, or PlatformSettings' when it has none."""
    module_name = f"shopee_{service}.settings"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        classes: list[type[PlatformSettings]] = [PlatformSettings]
    else:
        classes = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, PlatformSettings)
            and value.__module__ == module_name
        ]
    assert classes, f"{module_name} defines no settings class"
    return {
        str(settings.model_config.get("env_prefix", "")) + field.upper()
        for settings in classes
        for field in settings.model_fields
    }


def test_every_setting_a_container_is_given_is_one_its_code_reads(compose: dict[str, Any]) -> None:
    services = compose["services"]
    build_args = {services[name]["image"]: services[name]["build"]["args"] for name in BUILT_IMAGES}
    checked = set()
    for name, service in services.items():
        args = build_args.get(service["image"])
        if args is None:
            continue  # a third-party image
        member = REPO / args.get("SERVICE_DIR", f"services/{args['SERVICE']}")
        if not (member / "pyproject.toml").exists():
            continue  # not built yet (test_the_built_package_is_a_workspace_member says so)
        unread = set(service["environment"]) - settings_env_names(args["SERVICE"])
        assert not unread, f"{name} is given settings its code never reads: {sorted(unread)}"
        checked.add(name)
    assert {"ingest", "metrics", "migrate", *DEMO_STEPS} <= checked


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
    for name in ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "SHOPEE_GATEWAY_JWT_SECRET"):
        assert env_example[name], f"{name} is empty"
