"""One table of filter cases, run against every backend (and, later, every adapter).

Each memory below gets the metadata shown; each case names the filter and the keys of
the memories it must match.
"""

from __future__ import annotations

from typing import Any

DOCS: dict[str, dict[str, Any]] = {
    "a": {"topic": "ml", "level": 1, "score": 0.5, "done": True},
    "b": {"topic": "ml", "level": 2, "score": 0.9, "done": False},
    "c": {"topic": "python", "level": 3, "done": True},
    "d": {"topic": "python", "level": 10, "score": 0.1},
    "e": {"other": "x"},
}
# importance per doc, to filter on a column field
IMPORTANCE = {"a": 0.1, "b": 0.5, "c": 0.9, "d": 0.7, "e": 0.3}

CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("implicit eq", {"topic": "ml"}, {"a", "b"}),
    ("$eq", {"topic": {"$eq": "python"}}, {"c", "d"}),
    ("$eq int", {"level": {"$eq": 2}}, {"b"}),
    ("$eq bool", {"done": True}, {"a", "c"}),
    ("$ne matches missing", {"topic": {"$ne": "ml"}}, {"c", "d", "e"}),
    ("$gt", {"level": {"$gt": 2}}, {"c", "d"}),
    ("$gte", {"level": {"$gte": 2}}, {"b", "c", "d"}),
    ("$lt", {"level": {"$lt": 3}}, {"a", "b"}),
    ("$lte float", {"score": {"$lte": 0.5}}, {"a", "d"}),
    ("$in", {"topic": {"$in": ["python", "nope"]}}, {"c", "d"}),
    ("$in ints", {"level": {"$in": [1, 10]}}, {"a", "d"}),
    ("$nin matches missing", {"topic": {"$nin": ["ml"]}}, {"c", "d", "e"}),
    ("range on one field", {"level": {"$gt": 1, "$lt": 10}}, {"b", "c"}),
    ("two fields mean and", {"topic": "ml", "level": 2}, {"b"}),
    ("$and", {"$and": [{"topic": "python"}, {"level": {"$lt": 5}}]}, {"c"}),
    ("$or", {"$or": [{"level": 1}, {"other": "x"}]}, {"a", "e"}),
    ("nested", {"$or": [{"$and": [{"topic": "ml"}, {"done": False}]}, {"level": 10}]},
     {"b", "d"}),
    ("column importance", {"importance": {"$gte": 0.7}}, {"c", "d"}),
    ("column and metadata", {"importance": {"$lt": 0.6}, "topic": "ml"}, {"a", "b"}),
    ("no match", {"topic": "rust"}, set()),
]

BAD_FILTERS: list[dict[str, Any]] = [
    {"topic": {"$regex": "m.*"}},
    {"$not": {"topic": "ml"}},
    {"topic; DROP TABLE x": "ml"},
    {"level": {"$gt": "high"}},
    {"topic": {"$in": []}},
    {"topic": {"$in": ["a", 1]}},
    {"$and": []},
    {"$or": {"topic": "ml"}},
    {"topic": {"$eq": {"nested": 1}}},
    {"importance": {"$eq": "high"}},
]
