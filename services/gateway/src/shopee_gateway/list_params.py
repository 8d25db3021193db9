"""List-valued query parameters: repeated (`?kpis=gmv&kpis=aov`), comma-separated
(`?kpis=gmv,aov`) or both (`?kpis=gmv,aov&kpis=units`).

Every list of the REST API's query strings is declared `Annotated[list[...], ..., CommaSeparated]`
(or its model field is): the validator runs before the list is validated, so each split item is
validated like a repeated one (the same 422 naming the field and the item's index) and a list's
`max_length` counts the items after splitting. KpiQuery's lists split wherever the model is
validated (a saved view's JSON body too). No item can hold a comma: KPI names and severities
have none, and KpiQuery's shop id pattern refuses one.
"""

from __future__ import annotations

from pydantic import BeforeValidator


def split_commas(value: object) -> object:
    """A list's strings split on commas and stripped, empty items dropped, in order; duplicates
    kept (the field de-duplicates if it did before). Anything else is left to the list's own
    validation."""
    if not isinstance(value, list):
        return value
    items: list[object] = []
    for item in value:
        if isinstance(item, str):
            items.extend(part for raw in item.split(",") if (part := raw.strip()))
        else:
            items.append(item)
    return items


CommaSeparated = BeforeValidator(split_commas)


def list_description(what: str, name: str, first: str, second: str) -> str:
    """`what`, and how the list parameter `name` is written in a query string, shown with the
    items `first` and `second` (for its OpenAPI description)."""
    return (
        f"{what} In a query string: repeat it (`{name}={first}&{name}={second}`), separate the "
        f"items with commas (`{name}={first},{second}`), or both."
    )
