"""The OpenAPI document's examples: every operation under /api/ shows a client developer what to
send and what comes back, and every example is one the API would accept or answer.

What counts as an example: `example`/`examples` on a parameter, a media type or a schema (a
referenced model's, an array's items', or a nullable union's non-null option's). A form body may
instead carry one on each of its fields (Swagger UI fills the form from those)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, TypeAdapter
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shopee_gateway import kpi_query
from shopee_gateway.api import kpi_models, kpis, models, views
from shopee_gateway.api.ml import schemas as ml_schemas
from shopee_gateway.app import create_app
from shopee_gateway.settings import GatewaySettings

Spec = dict[str, Any]
SPEC_URI = "urn:gateway-openapi"
METHODS = {"get", "post", "put", "patch", "delete"}
# Where the gateway's request and response models live.
MODEL_MODULES: tuple[ModuleType, ...] = (models, kpi_models, views, ml_schemas, kpi_query)


@pytest.fixture(scope="module")
def spec() -> Spec:
    settings = GatewaySettings.model_validate(
        {"environment": "development", "database_url": "postgresql://unused@127.0.0.1:1/none"}
    )
    return create_app(settings).openapi()


def _operations(spec: Spec) -> Iterator[tuple[str, dict[str, Any]]]:
    """("GET /api/...", operation) for every operation of the public API."""
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def _resolve(spec: Spec, schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _has_example(spec: Spec, schema: dict[str, Any]) -> bool:
    """Whether the schema (or what it refers to, its items, or its non-null option) has one."""
    if "example" in schema or schema.get("examples"):
        return True
    resolved = _resolve(spec, schema)
    if resolved is not schema:
        return _has_example(spec, resolved)
    options = [
        o for o in schema.get("anyOf", []) + schema.get("oneOf", []) if o != {"type": "null"}
    ]
    if options:
        return all(_has_example(spec, option) for option in options)
    if schema.get("type") == "array" and "items" in schema:
        return _has_example(spec, schema["items"])
    return False


def _media_has_example(spec: Spec, media: dict[str, Any], form: bool = False) -> bool:
    if "example" in media or media.get("examples"):
        return True
    schema = media.get("schema")
    if schema is None:
        return False
    if _has_example(spec, schema):
        return True
    properties = _resolve(spec, schema).get("properties", {})
    return form and bool(properties) and all(_has_example(spec, s) for s in properties.values())


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def test_the_walk_sees_the_whole_api(spec: Spec) -> None:
    names = [name for name, _ in _operations(spec)]
    assert len(names) >= 40, names
    assert "GET /api/kpis" in names
    assert "POST /api/predict/sales" in names


def test_every_operation_has_a_summary_and_a_description(spec: Spec) -> None:
    missing = [
        f"{name}: {part}"
        for name, operation in _operations(spec)
        for part in ("summary", "description")
        if not operation.get(part, "").strip()
    ]
    assert not missing, "\n".join(missing)


def test_every_parameter_has_an_example(spec: Spec) -> None:
    missing = [
        f"{name}: {parameter['in']} parameter {parameter['name']}"
        for name, operation in _operations(spec)
        for parameter in operation.get("parameters", [])
        if not (
            "example" in parameter
            or parameter.get("examples")
            or _has_example(spec, parameter.get("schema", {}))
        )
    ]
    assert not missing, "\n".join(missing)


def test_every_request_body_has_an_example(spec: Spec) -> None:
    missing = [
        f"{name}: {media_type} body"
        for name, operation in _operations(spec)
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items()
        if not _media_has_example(spec, media, form=not _is_json(media_type))
    ]
    assert not missing, "\n".join(missing)


def _first_json_success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(status, media) of the first 2xx response with a JSON body, if any."""
    for status, response in sorted(operation.get("responses", {}).items()):
        if not str(status).startswith("2"):
            continue
        for media_type, media in response.get("content", {}).items():
            if _is_json(media_type):
                return str(status), media
    return None


def test_every_json_success_response_has_an_example(spec: Spec) -> None:
    missing = []
    for name, operation in _operations(spec):
        found = _first_json_success(operation)
        if found is not None and not _media_has_example(spec, found[1]):
            missing.append(f"{name}: {found[0]} response")
    assert not missing, "\n".join(missing)


def _schema_nodes(schema: Any, pointer: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(JSON pointer, subschema) for the schema and every schema nested in it."""
    if not isinstance(schema, dict):
        return
    yield pointer, schema
    for key in ("properties", "$defs", "patternProperties"):
        for name, sub in schema.get(key, {}).items():
            escaped = name.replace("~", "~0").replace("/", "~1")
            yield from _schema_nodes(sub, f"{pointer}/{key}/{escaped}")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for index, sub in enumerate(schema.get(key, [])):
            yield from _schema_nodes(sub, f"{pointer}/{key}/{index}")
    for key in ("items", "additionalProperties", "not"):
        yield from _schema_nodes(schema.get(key), f"{pointer}/{key}")


def _example_values(node: dict[str, Any]) -> list[Any]:
    """A schema's `examples` list, or an OpenAPI object's `example` / `examples` map values."""
    values = [node["example"]] if "example" in node else []
    examples = node.get("examples")
    if isinstance(examples, list):
        values += examples
    elif isinstance(examples, dict):
        values += [e["value"] for e in examples.values() if "value" in e]
    return values


def _examples_in(spec: Spec) -> Iterator[tuple[str, str, Any]]:
    """(where, JSON pointer of the schema it must match, example) for every example."""
    for name, schema in spec["components"]["schemas"].items():
        for pointer, node in _schema_nodes(schema, f"/components/schemas/{name}"):
            for value in _example_values(node):
                yield pointer, pointer, value
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            escaped = path.replace("~", "~0").replace("/", "~1")
            base = f"/paths/{escaped}/{method}"
            containers = [
                (f"{base}/parameters/{i}", p) for i, p in enumerate(operation.get("parameters", []))
            ]
            containers += [
                (f"{base}/requestBody/content/{m.replace('/', '~1')}", media)
                for m, media in operation.get("requestBody", {}).get("content", {}).items()
            ]
            containers += [
                (f"{base}/responses/{status}/content/{m.replace('/', '~1')}", media)
                for status, response in operation.get("responses", {}).items()
                for m, media in response.get("content", {}).items()
            ]
            for where, container in containers:
                if "schema" not in container:
                    continue
                for value in _example_values(container):
                    yield where, f"{where}/schema", value
                for pointer, node in _schema_nodes(container["schema"], f"{where}/schema"):
                    for value in _example_values(node):
                        yield pointer, pointer, value


def test_every_example_matches_the_schema_it_illustrates(spec: Spec) -> None:
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    checked, wrong = 0, []
    for where, pointer, value in _examples_in(spec):
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"{SPEC_URI}#{pointer}"},
            registry=registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        checked += 1
        wrong += [f"{where}: {error.message}" for error in validator.iter_errors(value)]
    assert checked >= 100, checked
    assert not wrong, "\n".join(wrong)


def _models_with_examples() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module in MODEL_MODULES:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, BaseModel) or cls.__module__ != module.__name__:
                continue
            extra = cls.model_config.get("json_schema_extra")
            if isinstance(extra, dict) and extra.get("examples"):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


MODELS = _models_with_examples()


def test_the_response_models_have_examples() -> None:
    names = {model.__name__ for model in MODELS}
    for expected in (
        "MeResponse",
        "MemberOut",
        "ApiKeyCreated",
        "SeriesResponse",
        "SummaryResponse",
        "FunnelResponse",
        "TopProductsResponse",
        "ViewOut",
        "ChurnResponse",
        "OptimizePriceResponse",
        "OptimizeMarketingResponse",
        "AnomalyPage",
    ):
        assert expected in names


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_model_examples_validate_against_their_model(model: type[BaseModel]) -> None:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    examples = extra["examples"]
    assert isinstance(examples, list)
    for example in examples:
        model.model_validate(example)


# Routes that show an example of their own answer (`responses=`), and the model they answer.
ROUTE_EXAMPLES: dict[str, Any] = {
    "PATCH /api/users/{user_id}": list[models.MemberOut],
    "DELETE /api/api-keys/{key_id}": models.ApiKeyOut,
    "GET /api/kpis/campaigns": kpi_models.SummaryResponse,
    "GET /api/kpis/customer-service": kpi_models.SummaryResponse,
}


def _route_example(spec: Spec, route: str) -> Any:
    method, path = route.split(" ", 1)
    found = _first_json_success(spec["paths"][path][method.lower()])
    assert found is not None, route
    assert "example" in found[1], route
    return found[1]["example"]


@pytest.mark.parametrize("route", list(ROUTE_EXAMPLES))
def test_route_examples_validate_against_the_answer_model(spec: Spec, route: str) -> None:
    TypeAdapter(ROUTE_EXAMPLES[route]).validate_python(_route_example(spec, route))


def test_campaign_and_service_examples_show_their_own_kpis(spec: Spec) -> None:
    for route, names in (
        ("GET /api/kpis/campaigns", kpis.CAMPAIGN_KPIS),
        ("GET /api/kpis/customer-service", kpis.SERVICE_KPIS),
    ):
        for shop in _route_example(spec, route)["shops"]:
            assert [change["kpi"] for change in shop["kpis"]] == list(names), route
