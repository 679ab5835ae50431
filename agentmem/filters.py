"""One metadata filter language, parsed once into a small tree.

Filters are Mongo-style dicts: ``{"topic": "ml"}``, ``{"importance": {"$gte": 0.7}}``,
``{"$or": [{...}, {...}]}``. Several keys in one dict mean AND. Each backend has one
pure translator from this tree (to parameterised SQL, to a Chroma ``where``).

Semantics, the same on every backend: a comparison on a field a memory lacks is false,
except ``$ne`` and ``$nin``, which match it (as in MongoDB and Chroma).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .errors import InvalidFilter
from .models import MAX_DEPTH, as_utc, check_text

__all__ = ["And", "Comparison", "FilterNode", "Or", "COLUMN_FIELDS", "OPERATORS", "parse_filter"]


Operator = Literal["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"]
OPERATORS: tuple[str, ...] = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin")
_ORDERED = frozenset({"$gt", "$gte", "$lt", "$lte"})
_LISTS = frozenset({"$in", "$nin"})

# Fields that name a memory's own attributes rather than a metadata key, with their kind.
COLUMN_FIELDS: dict[str, Literal["text", "number", "time"]] = {
    "id": "text",
    "user_id": "text",
    "session_id": "text",
    "importance": "number",
    "tier": "text",
    "created_at": "time",
    "updated_at": "time",
    "expires_at": "time",
}

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
_I64 = (-(2**63), 2**63 - 1)  # what both PostgreSQL (bigint) and Chroma compare exactly


@dataclass(frozen=True)
class Comparison:
    """``field op value``; ``value`` is a list for ``$in`` / ``$nin``."""

    field: str
    op: Operator
    value: Any

    @property
    def is_column(self) -> bool:
        return self.field in COLUMN_FIELDS


@dataclass(frozen=True)
class And:
    children: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[FilterNode, ...]


FilterNode = Comparison | And | Or


def parse_filter(raw: Mapping[str, Any] | None) -> FilterNode | None:
    """Validate a filter dict and return its tree, or None for no filter."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidFilter(f"a filter must be a dict, got {type(raw).__name__}")
    if not raw:
        return None
    return _parse_dict(raw, 1)


def _parse_dict(raw: Mapping[str, Any], depth: int) -> FilterNode:
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidFilter(f"each filter clause must be a non-empty dict, got {raw!r:.200}")
    if depth > MAX_DEPTH:
        raise InvalidFilter(f"the filter nests more than {MAX_DEPTH} levels of $and / $or: "
                            "flatten it")
    nodes: list[FilterNode] = []
    for key, value in raw.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise InvalidFilter(f"{key} takes a non-empty list of filter dicts, "
                                    f"got {value!r:.200}")
            children = tuple(_parse_dict(v, depth + 1) for v in value)
            nodes.append(children[0] if len(children) == 1 else
                         (And(children) if key == "$and" else Or(children)))
        elif isinstance(key, str) and key.startswith("$"):
            raise InvalidFilter(
                f"unknown logical operator {key!r}: use $and or $or at the top of a clause, "
                f"and {', '.join(OPERATORS)} inside a field"
            )
        else:
            nodes.extend(_parse_field(key, value))
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _parse_field(field: Any, spec: Any) -> list[FilterNode]:
    if not isinstance(field, str) or not _FIELD.match(field):
        raise InvalidFilter(
            f"invalid filter field {field!r}: use letters, digits, '_' or '-' "
            "(starting with a letter or '_', at most 64 characters)"
        )
    if not isinstance(spec, Mapping):
        return [_comparison(field, "$eq", spec)]
    if not spec:
        raise InvalidFilter(f"field {field!r} has an empty operator dict")
    return [_comparison(field, op, value) for op, value in spec.items()]


def _comparison(field: str, op: Any, value: Any) -> Comparison:
    if op not in OPERATORS:
        raise InvalidFilter(f"unknown filter operator {op!r} on {field!r}: use one of "
                            f"{', '.join(OPERATORS)}")
    kind = COLUMN_FIELDS.get(field)
    if op in _LISTS:
        if not isinstance(value, (list, tuple)) or not value:
            raise InvalidFilter(f"{op} on {field!r} takes a non-empty list, got {value!r}")
        items = [_scalar(field, op, v, kind) for v in value]
        if len({_type_key(v) for v in items}) > 1:
            raise InvalidFilter(f"{op} on {field!r} needs values of one type, got {value!r}")
        return Comparison(field, op, items)
    item = _scalar(field, op, value, kind)
    if op in _ORDERED and (isinstance(item, (bool, str)) and kind != "time"):
        raise InvalidFilter(f"{op} on {field!r} compares numbers only, got {value!r}")
    return Comparison(field, op, item)


def _type_key(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def _scalar(field: str, op: str, value: Any, kind: str | None) -> Any:
    if kind == "time":
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise InvalidFilter(f"{field!r} needs a timezone-aware datetime, got {value!r}")
            try:
                as_utc(value, f"{op} on {field!r}")
            except ValueError as exc:
                raise InvalidFilter(str(exc)) from exc
            return value
        raise InvalidFilter(f"{op} on {field!r} takes a timezone-aware datetime, "
                            f"got {value!r:.200}")
    if isinstance(value, float) and value != value:
        raise InvalidFilter(f"{op} on {field!r} cannot compare with NaN")
    if not isinstance(value, (str, int, float, bool)):
        raise InvalidFilter(
            f"{op} on {field!r} takes a string, number or bool, got {type(value).__name__}"
        )
    if isinstance(value, str):
        try:
            check_text(value, f"the value of {op} on {field!r}")
        except ValueError as exc:
            raise InvalidFilter(str(exc)) from exc
    elif isinstance(value, int) and not isinstance(value, bool) and not (
            _I64[0] <= value <= _I64[1]):
        raise InvalidFilter(f"{op} on {field!r}: integers must fit in 64 bits, got {value}")
    elif isinstance(value, float) and value in (float("inf"), float("-inf")):
        raise InvalidFilter(f"{op} on {field!r} cannot compare with infinity")
    if kind == "text" and not isinstance(value, str):
        raise InvalidFilter(f"{op} on {field!r} takes a string, got {value!r}")
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise InvalidFilter(f"{op} on {field!r} takes a number, got {value!r}")
    return value
