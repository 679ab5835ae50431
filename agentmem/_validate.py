"""Argument checks shared by the facade: each turns bad input into :class:`InvalidInput`.

Validation happens once, here and in the models, never in a backend, so every mode and
adapter refuses the same input the same way. The choices (limits in :mod:`agentmem.models`):

* Text (content, ids, agents, sessions, roles, queries, metadata keys and values, filter
  values) must be valid Unicode (no lone surrogate) without NUL: PostgreSQL text cannot
  hold NUL, so no mode accepts it.
* A memory's or turn's text is at most ``MAX_CONTENT_BYTES`` (256 KiB of UTF-8); the keyword
  index keeps at most that much of the text with its context turns and skips words over
  ``MAX_WORD_CHARS`` (:func:`indexable`), so PostgreSQL's 1 MB ``tsvector`` is never hit.
* Metadata: at most ``MAX_METADATA_KEYS`` (256) top-level keys, ``MAX_METADATA_BYTES``
  (256 KiB) as JSON, ``MAX_DEPTH`` (32) levels; filters nest at most 32 levels and compare
  integers of 64 bits. A query is at most ``MAX_QUERY_CHARS`` (16,384) characters.
* Vectors: flat lists (or arrays) of int or float, finite, not all zeros, of the store's
  dimension (``DimensionMismatch`` otherwise).
* Ids: a bare string passed as ``ids`` is one id, never split into characters; ``None`` or
  a non-string inside is an error. Duplicate ids in one batch are an error. Batches hold
  :class:`Memory` / :class:`ChatTurn` objects only (no dicts), and are validated again at
  the storage boundary (:func:`stored`, :func:`turns`), so ``model_construct`` rows cannot
  slip through.
* Timestamps must be timezone-aware and stay within years 1..9999 once converted to UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from pydantic import ValidationError

from .backends._vectors import as_matrix
from .backends.base import Vector, Vectors
from .embeddings import Embedder
from .errors import DimensionMismatch, InvalidInput
from .filters import FilterNode, parse_filter
from .models import (
    MAX_CONTENT_BYTES,
    ChatTurn,
    Memory,
    MemoryType,
    as_agent_id,
    as_memory_type,
    as_name,
    check_text,
)

__all__ = ["MAX_K", "MAX_QUERY_CHARS", "MAX_WORD_CHARS", "MemoryTypes", "build", "embeddings",
           "fit_query", "ids", "indexable", "limit", "memories", "memory_types", "offset", "query_text",
           "query_vector", "scope", "stored", "top_k", "turns", "weight"]

T = TypeVar("T")
MemoryTypes = MemoryType | str | Iterable[MemoryType | str] | None
MAX_K = 10_000
# A query's words become one OR'ed tsquery; PostgreSQL runs out of stack near 20,000 terms.
MAX_QUERY_CHARS = 16_384
# PostgreSQL refuses a lexeme over 2,046 bytes; 255 characters stay under it in any script.
MAX_WORD_CHARS = 255
_LONG_WORD = re.compile(rf"[^\W_]{{{MAX_WORD_CHARS + 1},}}")


def memory_types(value: MemoryTypes) -> list[MemoryType]:
    """The types asked for, each once, in order; every type when None."""
    if value is None:
        return list(MemoryType)
    items = [value] if isinstance(value, (str, MemoryType)) else list(value)
    out = [as_memory_type(v) for v in items]
    if not out:
        raise InvalidInput("memory_types must name at least one type")
    return list(dict.fromkeys(out))


def scope(agent_id: str | None, types: MemoryTypes,
          filter: Mapping[str, Any] | None) -> tuple[str, list[MemoryType], FilterNode | None]:
    """The (agent, memory types, parsed filter) most calls are scoped by."""
    return as_agent_id(agent_id), memory_types(types), parse_filter(filter)


def top_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be an int in 1..{MAX_K}, got {k!r}")
    return k


def limit(value: int | None, *, allow_zero: bool) -> int | None:
    low = 0 if allow_zero else 1
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
        kind = "non-negative" if allow_zero else "positive"
        raise InvalidInput(f"limit must be a {kind} int or None, got {value!r}")
    return value


def offset(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"offset must be a non-negative int, got {value!r}")
    return value


def weight(value: float, name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def query_text(text: object, what: str) -> str:
    """``text`` if it is a usable query: non-empty, storable text of at most MAX_QUERY_CHARS
    characters with no word longer than MAX_WORD_CHARS."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"{what} needs a non-empty query text, got {text!r:.80}")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"{what}: the query has {len(text)} characters, more than the limit "
                           f"of {MAX_QUERY_CHARS}: shorten it")
    _text(text, f"{what} query")
    if _LONG_WORD.search(text):
        raise InvalidInput(f"{what}: the query has a word of more than {MAX_WORD_CHARS} "
                           "characters, which no memory can match: remove it")
    return text


def fit_query(text: str) -> str:
    """``text`` made a valid query for callers that build one from a conversation (memory
    blocks): its last MAX_QUERY_CHARS characters, words over MAX_WORD_CHARS dropped."""
    return _LONG_WORD.sub(" ", text[-MAX_QUERY_CHARS:])


def _text(value: object, what: str) -> str:
    try:
        return check_text(value, what)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


def ids(value: object, what: str = "ids") -> list[str]:
    """Memory ids as a list, each checked like a stored id; a bare str is one id (never split
    into characters, in every mode and adapter)."""
    if isinstance(value, str):
        return [as_name(value, what[:-1] if what.endswith("s") else what)]
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidInput(f"{what} must be a list of id strings, got {type(value).__name__}")
    return [as_name(v, f"{what}[{i}]") for i, v in enumerate(value)]


def indexable(text: str) -> str:
    """``text`` as the keyword index may hold it: words over MAX_WORD_CHARS dropped and its
    last MAX_CONTENT_BYTES of UTF-8 kept (a memory's own content comes after its context
    turns, and alone it is within that limit), so a PostgreSQL ``tsvector`` stays under its
    1 MB cap with any number of context turns. Returns ``text`` itself when it fits."""
    if _LONG_WORD.search(text):
        text = _LONG_WORD.sub(" ", text)
    if len(text) > MAX_CONTENT_BYTES // 4:
        raw = text.encode("utf-8")
        if len(raw) > MAX_CONTENT_BYTES:
            text = raw[-MAX_CONTENT_BYTES:].decode("utf-8", "ignore")
    return text


def memories(rows: object) -> list[Memory]:
    """A batch to write: Memory objects only, each id once (two rows with one id would leave
    which one is stored undefined)."""
    if isinstance(rows, (str, bytes, Mapping, Memory)) or not isinstance(rows, Iterable):
        raise InvalidInput(f"memories must be a list of Memory, got {type(rows).__name__}")
    out = list(rows)
    seen: set[str] = set()
    for i, m in enumerate(out):
        if not isinstance(m, Memory):
            raise InvalidInput(f"memories[{i}] is a {type(m).__name__}, not a Memory: build "
                               "it with Memory(content=..., agent_id=...)")
        key = m.__dict__.get("id")
        if isinstance(key, str) and key in seen:
            raise InvalidInput(f"id {key!r} appears twice in one batch: give each memory "
                               "its own id")
        if isinstance(key, str):
            seen.add(key)
    return out


def stored(rows: Sequence[Memory]) -> list[Memory]:
    """``rows`` validated again as they reach storage: a row made with ``model_construct``
    (or changed past validation) would otherwise be stored and break every later read."""
    return [_revalidated(Memory, m, i) for i, m in enumerate(rows)]


def turns(rows: object) -> list[ChatTurn]:
    """Chat turns to write, ChatTurn objects only, each validated again (as :func:`stored`)."""
    if isinstance(rows, (str, bytes, Mapping, ChatTurn)) or not isinstance(rows, Iterable):
        raise InvalidInput(f"turns must be a list of ChatTurn, got {type(rows).__name__}")
    out = list(rows)
    for i, t in enumerate(out):
        if not isinstance(t, ChatTurn):
            raise InvalidInput(f"turns[{i}] is a {type(t).__name__}, not a ChatTurn: build "
                               "it with ChatTurn(session_id=..., agent_id=..., role=...)")
    return [_revalidated(ChatTurn, t, i) for i, t in enumerate(out)]


def _revalidated(cls: type[T], row: Any, i: int) -> T:
    try:
        return cls.model_validate(row.__dict__)  # type: ignore[attr-defined,no-any-return]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                             for e in exc.errors())
        raise InvalidInput(f"{cls.__name__} {i} of the batch is invalid: {problems}") from exc


def build(cls: type[T], **fields: Any) -> T:
    """Build a model, turning validation errors into InvalidInput."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                             for e in exc.errors())
        raise InvalidInput(f"invalid {cls.__name__}: {problems}") from exc


_NUMBERS = (int, float, np.integer, np.floating)
_NOT_NUMBERS = (bool, np.bool_)


def _numbers_only(rows: Iterable[Any], what: str) -> None:
    """Each row a flat sequence of real numbers: no str ("1.0"), bool, None or nested list,
    which numpy would otherwise convert or reject with an untyped error."""
    for i, row in enumerate(rows):
        if isinstance(row, np.ndarray):
            if row.dtype.kind not in "fiu":
                raise InvalidInput(f"{what} {i} holds {row.dtype} values, not numbers")
            continue
        if isinstance(row, (str, bytes, Mapping)) or not isinstance(row, Sequence):
            raise InvalidInput(f"{what} {i} must be a list of numbers, got {type(row).__name__}")
        for t in set(map(type, row)):
            if not issubclass(t, _NUMBERS) or issubclass(t, _NOT_NUMBERS):
                raise InvalidInput(f"{what} {i} holds a {t.__name__}: a vector is a flat list "
                                   "of int or float")


def _vectors(given: object, dimension: int, what: str) -> np.ndarray:
    if isinstance(given, np.ndarray):
        if given.dtype.kind not in "fiu":
            raise InvalidInput(f"{what}s hold {given.dtype} values, not numbers")
    elif isinstance(given, (str, bytes, Mapping)) or not isinstance(given, Sequence):
        raise InvalidInput(f"{what}s must be a list of vectors, got {type(given).__name__}")
    else:
        _numbers_only(given, what)
    with np.errstate(over="ignore", invalid="ignore"):  # too big for float32: inf, refused
        matrix = as_matrix(given, dimension, what)
    zero = ~matrix.any(axis=1)
    if zero.any():
        raise InvalidInput(f"{what} {int(np.argmax(zero))} is all zeros: cosine similarity is "
                           "undefined for it")
    return matrix


def query_vector(vector: Vector, embedder: Embedder) -> Vector:
    """``vector`` if it is a usable query: numbers only, finite, not all zeros, the store's
    dimension (DimensionMismatch otherwise)."""
    if isinstance(vector, (str, bytes, Mapping)) or not isinstance(vector, Sequence | np.ndarray):
        raise InvalidInput(f"a query vector must be a list of numbers, got "
                           f"{type(vector).__name__}")
    if len(vector) != embedder.dimension:
        raise DimensionMismatch(f"query vector has dimension {len(vector)} but the store "
                                f"holds {embedder.dimension}")
    _vectors([vector], embedder.dimension, "query vector")
    return vector


def embeddings(given: Vectors, count: int,
               embedder: Embedder) -> np.ndarray:
    """Vectors for ``count`` memories as one checked float32 matrix (converted once)."""
    if isinstance(given, (str, bytes, Mapping)) or not isinstance(given, Sequence | np.ndarray):
        raise InvalidInput(f"embeddings must be a list of vectors, got {type(given).__name__}")
    if len(given) != count:
        raise InvalidInput(f"{count} memories but {len(given)} embeddings")
    return _vectors(given, embedder.dimension, "embedding")
