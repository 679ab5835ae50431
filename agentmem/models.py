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

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from .errors import InvalidInput

__all__ = ["AgentId", "ChatTurn", "Memory", "MemoryHit", "MemoryLink", "MemoryStats", "MemoryTier",
           "MemoryType", "RelatedMemory", "as_agent_id", "as_memory_type", "as_relation",
           "tier_for", "utcnow"]

_MAX_ID_LEN = 256


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
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"agent_id must be a non-empty string, got {value!r}")
    return value


AgentId = Annotated[str, AfterValidator(as_agent_id)]
"""An agent id as a pydantic field type, checked like every call's ``agent_id``."""


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")
    if len(value) > _MAX_ID_LEN or "\x00" in value:
        raise ValueError(f"{what} must be at most {_MAX_ID_LEN} characters with no NUL byte")
    return value


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (use datetime.now(timezone.utc))")
    return value.astimezone(timezone.utc)


def check_json_dict(value: dict[str, Any], what: str = "metadata") -> dict[str, Any]:
    """Reject anything that would not survive a JSON round trip unchanged."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a dict")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON-safe (str keys; str, number, bool, None, "
                         f"list and dict values; no NaN): {exc}") from exc
    if json.loads(text) != value:
        raise ValueError(f"{what} must have string keys and JSON values only")
    if "\\u0000" in text:
        raise ValueError(f"{what} must not contain NUL characters")
    return value


class Memory(BaseModel):
    """One memory of one agent: text plus who, what kind, how important and when."""

    model_config = ConfigDict(validate_assignment=True, use_enum_values=False)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    content: str
    memory_type: MemoryType = MemoryType.EPISODIC
    agent_id: str
    user_id: str | None = None
    session_id: str | None = None
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
        if "\x00" in v:
            raise ValueError("content must not contain NUL characters")
        return v

    @field_validator("id", "agent_id")
    @classmethod
    def _ids(cls, v: str, info: Any) -> str:
        return _check_name(v, info.field_name)

    @field_validator("user_id", "session_id")
    @classmethod
    def _opt_ids(cls, v: str | None, info: Any) -> str | None:
        return None if v is None else _check_name(v, info.field_name)

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
        return check_json_dict(v)

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

    session_id: str
    agent_id: str
    role: str
    content: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("session_id", "agent_id", "role")
    @classmethod
    def _names(cls, v: str, info: Any) -> str:
        return _check_name(v, info.field_name)

    @field_validator("content")
    @classmethod
    def _content(cls, v: str) -> str:
        if "\x00" in v:
            raise ValueError("content must not contain NUL characters")
        return v

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
