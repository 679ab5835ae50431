"""The memory model: memories, conversation turns and search hits."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, field_validator

from .cache import CacheStats
from .errors import InvalidInput

__all__ = ["MAX_CONTENT_BYTES", "MAX_DEPTH", "MAX_ID_LEN", "MAX_METADATA_BYTES",
           "MAX_METADATA_KEYS", "AgentId", "ChatTurn", "Memory", "MemoryHit", "MemoryLink",
           "MemoryStats", "MemoryTier", "MemoryType", "RelatedMemory", "as_agent_id",
           "as_memory_type", "as_name", "as_relation", "as_utc", "check_depth", "check_json_dict",
           "check_text",
           "tier_for", "utcnow"]

# The limits every mode enforces alike (see README, "Limits"). PostgreSQL's tsvector caps
# at 1 MB and Chroma's compaction breaks on thousands of metadata keys, so one bound for all.
MAX_ID_LEN = 256  # characters of an id, agent, user, session or role
MAX_CONTENT_BYTES = 256 * 1024  # UTF-8 bytes of a memory's or a turn's text
MAX_METADATA_BYTES = 256 * 1024  # UTF-8 bytes of metadata (or a turn's extra) as JSON
MAX_METADATA_KEYS = 256  # top-level keys of one memory's metadata (each is filterable)
MAX_DEPTH = 32  # nesting of dicts and lists in metadata, extra and filters


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (what every timestamp here uses)."""
    return datetime.now(timezone.utc)


class MemoryType(str, Enum):
    """What kind of thing a memory holds."""

    EPISODIC = "episodic"  # what happened
    SEMANTIC = "semantic"  # facts
    PROCEDURAL = "procedural"  # how to do things


class MemoryTier(str, Enum):
    """How long a memory is meant to last (see :class:`agentmem.lifecycle.RetentionPolicy`)."""

    WORKING = "working"  # the task at hand: an hour
    SHORT_TERM = "short_term"  # a week
    LONG_TERM = "long_term"  # a year
    PERMANENT = "permanent"  # never expires


# importance >= threshold -> tier, highest first (the lab's hierarchy)
TIER_THRESHOLDS: tuple[tuple[float, MemoryTier], ...] = (
    (0.9, MemoryTier.PERMANENT), (0.7, MemoryTier.LONG_TERM), (0.4, MemoryTier.SHORT_TERM))


def tier_for(importance: float,
             thresholds: Sequence[tuple[float, MemoryTier]] = TIER_THRESHOLDS) -> MemoryTier:
    """The tier of a memory of this importance: the first threshold it reaches, else working."""
    return next((tier for floor, tier in thresholds if importance >= floor), MemoryTier.WORKING)


def as_memory_type(value: MemoryType | str) -> MemoryType:
    """``value`` as a MemoryType; InvalidInput naming the accepted values otherwise."""
    try:
        return MemoryType(value)
    except ValueError as exc:
        raise InvalidInput(f"unknown memory type {value!r}: use "
                           f"{', '.join(t.value for t in MemoryType)}") from exc


def as_agent_id(value: object) -> str:
    """``value`` if it is a usable agent id; InvalidInput otherwise."""
    return as_name(value, "agent_id")


def as_name(value: object, what: str) -> str:
    """``value`` if it is a usable id (of a memory, agent, session...); InvalidInput naming
    ``what`` otherwise: a non-empty str of at most MAX_ID_LEN characters, no NUL, valid UTF-8."""
    try:
        return _check_name(value, what)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


AgentId = Annotated[str, AfterValidator(as_agent_id)]
"""An agent id as a pydantic field type, checked like every call's ``agent_id``."""


def check_text(value: object, what: str, max_bytes: int | None = None) -> str:
    """``value`` if it is a str PostgreSQL and Chroma can both store: valid UTF-8 (no lone
    surrogate), no NUL character and, with ``max_bytes``, at most that many UTF-8 bytes.
    Raises ValueError naming ``what``."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode (a lone surrogate at position "
                         f"{exc.start}): decode the text properly before storing it") from exc
    if "\x00" in value:
        raise ValueError(f"{what} must not contain NUL characters (PostgreSQL text cannot "
                         "hold them): strip them first")
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"{what} is {size} bytes of UTF-8, more than the limit of "
                         f"{max_bytes}: split it into several memories")
    return value


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_ID_LEN:
        raise ValueError(f"{what} must be at most {MAX_ID_LEN} characters, got {len(value)}")
    return check_text(value, what)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValueError(f"timestamps must be datetimes, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (use datetime.now(timezone.utc))")
    try:
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError) as exc:  # year 1 or 9999 shifted past the range
        raise ValueError(f"timestamp {value.isoformat()} is out of range in UTC: keep it "
                         "between years 1 and 9999 once converted to UTC") from exc


def as_utc(value: datetime | None, what: str) -> datetime | None:
    """``value`` in UTC (None stays None); InvalidInput naming ``what`` when it is naive,
    not a datetime, or out of range once converted."""
    try:
        return _as_utc(value)
    except ValueError as exc:
        raise InvalidInput(f"{what}: {exc}") from exc


def check_depth(value: Any, what: str, max_depth: int = MAX_DEPTH) -> None:
    """ValueError if ``value`` nests dicts, lists or tuples more than ``max_depth`` deep;
    checked without recursion, so before anything that recurses (``json.dumps``) runs."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list | tuple):
            if depth > max_depth:
                raise ValueError(f"{what} nests more than {max_depth} levels of dicts and "
                                 "lists: flatten it")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


_JSON_RULE = "str keys; str, finite number, bool, None, list and dict values"


def _check_json_tree(value: Any, what: str, max_depth: int) -> None:
    """Walk ``value`` without recursion: JSON types only, every string storable, at most
    ``max_depth`` levels of dicts and lists (deeper input would exhaust Python's stack)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, what)]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict | list) and depth > max_depth:
            raise ValueError(f"{path} nests more than {max_depth} levels of dicts and lists: "
                             "flatten it")
        if isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str):
                    raise ValueError(f"{path} has a key {key!r} that is not a string ({_JSON_RULE})")
                check_text(key, f"a key of {path}")
                stack.append((child, depth + 1, f"{path}[{key[:40]!r}]"))
        elif isinstance(node, list):
            stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(node))
        elif isinstance(node, str):
            check_text(node, path)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise ValueError(f"{path} is {node!r}: JSON has no NaN or infinity")
        elif node is not None and not isinstance(node, int):  # bool is an int
            raise ValueError(f"{path} is a {type(node).__name__}, not JSON ({_JSON_RULE})")


def check_json_dict(value: Any, what: str = "metadata", *, max_keys: int | None = None,
                    max_bytes: int = MAX_METADATA_BYTES,
                    max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """``value`` if it is a dict that survives a JSON round trip unchanged, in the limits
    (bytes as JSON, top-level keys, nesting depth); ValueError naming ``what`` otherwise."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a dict, got {type(value).__name__}")
    if max_keys is not None and len(value) > max_keys:
        raise ValueError(f"{what} has {len(value)} keys, more than the limit of {max_keys}: "
                         "nest related values under one key")
    _check_json_tree(value, what, max_depth)
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > max_bytes:
        raise ValueError(f"{what} is {size} bytes as JSON, more than the limit of {max_bytes}")
    return value


class Memory(BaseModel):
    """One memory of one agent: text plus who, what kind, how important and when."""

    model_config = ConfigDict(validate_assignment=True, use_enum_values=False)

    # Strict: a str only (bytes are not silently decoded).
    id: StrictStr = Field(default_factory=lambda: str(uuid.uuid4()))
    content: StrictStr
    memory_type: MemoryType = MemoryType.EPISODIC
    agent_id: StrictStr
    user_id: StrictStr | None = None
    session_id: StrictStr | None = None
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    # Derived from importance when not given (validate_default runs the validator on None).
    tier: MemoryTier | None = Field(default=None, validate_default=True)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    source_ids: list[str] = Field(default_factory=list)

    @field_validator("content")
    @classmethod
    def _content(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("content must be non-empty text")
        return check_text(v, "content", MAX_CONTENT_BYTES)

    @field_validator("id", "agent_id")
    @classmethod
    def _ids(cls, v: str, info: Any) -> str:
        return _check_name(v, info.field_name)

    @field_validator("user_id", "session_id")
    @classmethod
    def _opt_ids(cls, v: str | None, info: Any) -> str | None:
        return None if v is None else _check_name(v, info.field_name)

    @field_validator("importance", mode="before")
    @classmethod
    def _not_bool(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError("importance must be a number in [0, 1], not a bool")
        return v

    @field_validator("importance")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("importance must be a finite number in [0, 1]")
        return v

    @field_validator("tier")
    @classmethod
    def _tier(cls, v: MemoryTier | str | None, info: Any) -> MemoryTier:
        if v is None:
            importance = info.data.get("importance")
            return tier_for(importance if isinstance(importance, float) else 0.5)
        return MemoryTier(v)

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_json_dict(v, max_keys=MAX_METADATA_KEYS)

    @field_validator("created_at", "updated_at", "expires_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return _as_utc(v)

    @field_validator("source_ids")
    @classmethod
    def _sources(cls, v: list[str]) -> list[str]:
        return [_check_name(s, "source_ids item") for s in v]

    def alive_at(self, now: datetime) -> bool:
        """Whether the memory has not expired at ``now``: agentmem's one expiry rule."""
        return self.expires_at is None or self.expires_at > now

    @classmethod
    def from_store(cls, *, id: str, content: str, memory_type: MemoryType | str, agent_id: str,
                   user_id: str | None, session_id: str | None, importance: float,
                   metadata: dict[str, Any], source_ids: list[str], created_at: datetime,
                   updated_at: datetime, expires_at: datetime | None,
                   tier: str | None = None) -> Memory:
        """A memory read back from agentmem's own store, without validating it again.

        Every stored memory was validated on the way in; re-validating each hit (the
        metadata JSON round trip above all) cost more than the query that found it.
        """
        fields = {
            "id": id, "content": content, "memory_type": MemoryType(memory_type),
            "agent_id": agent_id, "user_id": user_id, "session_id": session_id,
            "importance": float(importance),
            "tier": tier_for(float(importance)) if tier is None else MemoryTier(tier),
            "metadata": metadata,
            "created_at": _as_utc(created_at), "updated_at": _as_utc(updated_at),
            "expires_at": _as_utc(expires_at), "source_ids": list(source_ids)}
        # What model_construct does, without its per-field bookkeeping (a third of the
        # cost of a recall): every field is given, so all are set and none is extra.
        memory = cls.__new__(cls)
        object.__setattr__(memory, "__dict__", fields)
        object.__setattr__(memory, "__pydantic_fields_set__", set(fields))
        object.__setattr__(memory, "__pydantic_extra__", None)
        object.__setattr__(memory, "__pydantic_private__", None)
        return memory


class ChatTurn(BaseModel):
    """One message of a conversation; ``extra`` keeps framework fields losslessly."""

    session_id: StrictStr
    agent_id: StrictStr
    role: StrictStr
    content: StrictStr = ""
    extra: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("session_id", "agent_id", "role")
    @classmethod
    def _names(cls, v: str, info: Any) -> str:
        return _check_name(v, info.field_name)

    @field_validator("content")
    @classmethod
    def _content(cls, v: str) -> str:
        return check_text(v, "content", MAX_CONTENT_BYTES)

    @field_validator("extra")
    @classmethod
    def _extra(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_json_dict(v, "extra")

    @field_validator("created_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        out = _as_utc(v)
        assert out is not None
        return out


_RELATION = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_RELATION_RULE = "1-64 lower-case letters, digits and underscores, starting with a letter"


def _relation_name(value: str) -> str:
    if not isinstance(value, str) or not _RELATION.match(value):
        raise ValueError(f"a relation is {_RELATION_RULE} (e.g. 'derived_from'), got {value!r}")
    return value


def as_relation(value: object) -> str:
    """``value`` if it names a relation (``derived_from``, ``same_as``, ...); InvalidInput else."""
    try:
        return _relation_name(value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


_LinkEnd = Annotated[str, AfterValidator(lambda v: _check_name(v, "a linked memory id"))]


class MemoryLink(BaseModel):
    """A typed, directed relation between two memories of one agent: source → target.

    ``derived_from`` (a consolidated memory to each source) and ``same_as`` are agentmem's
    own; any other name that :func:`as_relation` accepts is the caller's.
    """

    source_id: _LinkEnd
    target_id: _LinkEnd
    relation: Annotated[str, AfterValidator(_relation_name)]
    created_at: datetime = Field(default_factory=utcnow)


class RelatedMemory(BaseModel):
    """A memory reached from another over links: how, and how many steps away.

    ``via`` is the memory the last step left from; ``outgoing`` is True when that step
    followed a link in its direction (via → memory), False when against it.
    """

    memory: Memory
    relation: str
    depth: int
    via: str
    outgoing: bool


class MemoryHit(BaseModel):
    """A recalled memory and its score (higher is closer): the fused, re-scored value in
    [0, 1] of a default recall, the cosine similarity of a dense one (``lexical_weight=0``).

    ``vector`` is filled only when asked for (MMR re-ranking needs it); ``related`` only
    with ``recall(..., expand_related=True)``: the memories one link away.
    """

    memory: Memory
    score: float
    vector: list[float] | None = Field(default=None, repr=False)
    related: list[RelatedMemory] = Field(default_factory=list)


class MemoryStats(BaseModel):
    """Counts for one agent, as ``agentmem stats`` shows them."""

    agent_id: str
    by_type: dict[str, int]
    total: int
    turns: int
    sessions: int
    pending_index: int = 0
    cache: CacheStats | None = None  # the memory's SessionCache figures, when it has one
