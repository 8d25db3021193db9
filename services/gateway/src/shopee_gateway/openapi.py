"""The gateway's OpenAPI document: FastAPI's, with the nulls of its examples kept.

FastAPI writes the document with `exclude_none=True` (fastapi/fastapi#5559), which also drops
every null inside an example: the total's `"shop_id": null` of a KPI summary or a member's
`"last_login_at": null` would vanish, leaving examples that do not match their own schema. Each
example the document holds is put back as written where it is the same but for those nulls: the
models' `json_schema_extra` examples, and the examples of routes' `responses` made with
`json_example` or `keep_nulls`. Only the document changes; no route does.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

Example = TypeVar("Example")
# The examples of routes' `responses` entries, as written (see keep_nulls).
_RESPONSE_EXAMPLES: list[Any] = []


def keep_nulls(example: Example) -> Example:
    """`example` (of a route's `responses` entry), noted so that the document keeps its nulls."""
    _RESPONSE_EXAMPLES.append(example)
    return example


def json_example(example: Any) -> dict[str, Any]:
    """A route's `responses` entry showing `example` as its JSON body, nulls kept."""
    return {"content": {"application/json": {"example": keep_nulls(example)}}}


def install(app: FastAPI) -> None:
    """Make `app.openapi()` (and so /openapi.json and /docs) keep the examples' nulls."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = FastAPI.openapi(app)  # built once, then kept in app.openapi_schema
        restore_nulls(document, written_examples())
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _models(base: type[BaseModel] = BaseModel) -> list[type[BaseModel]]:
    found = []
    for cls in base.__subclasses__():
        found.append(cls)
        found += _models(cls)
    return found


def written_examples() -> list[Any]:
    """Every example as written (JSON-encoded, nulls kept): the `examples` lists of the models'
    `json_schema_extra` and the examples noted by `keep_nulls`."""
    written: list[Any] = list(_RESPONSE_EXAMPLES)
    for model in _models():
        extra = model.model_config.get("json_schema_extra")
        if isinstance(extra, dict) and isinstance(extra.get("examples"), list):
            written.append(extra["examples"])
    return [jsonable_encoder(example) for example in written]


def without_nulls(value: Any) -> Any:
    """`value` as FastAPI writes it into the document: no member whose value is null."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def restore_nulls(document: Any, written: list[Any]) -> None:
    """Put each example of `document` (an `example` or `examples` member anywhere) back as
    written when it equals one of `written` without its nulls."""
    stripped = [(without_nulls(example), example) for example in written]
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending += node
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key in ("example", "examples"):
                for bare, example in stripped:
                    if bare == value and bare != example:
                        node[key] = copy.deepcopy(example)
                        break
            else:
                pending.append(value)
