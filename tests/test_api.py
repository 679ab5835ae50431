"""The public surface, the error tree, and the filter parser on arbitrary input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agentmem
from agentmem import errors
from agentmem.backends.chroma import to_chroma_where
from agentmem.backends.postgres import to_sql
from agentmem.filters import parse_filter

PUBLIC = {
    "AgentMemError", "AgentMemSettings", "Backend", "BackendError", "BackendUnavailable",
    "ChatTurn", "ChromaBackend", "CompletionError", "ConfigError", "DimensionMismatch", "Embedder",
    "HashingEmbedder", "HybridBackend", "HybridMemory", "InvalidFilter", "InvalidInput", "MMR",
    "Memory", "MemoryHit", "MemoryStats", "MemoryType", "Metrics", "MetricsSnapshot", "NotFound",
    "OpenAIEmbedder", "PostgresBackend",
    "MemoryLink", "MemoryTier", "RelatedMemory", "RetrievalConfig",
    "PostgresConfig", "SentenceTransformerEmbedder", "StoreInfo", "embedder_from_spec",
    "load_settings", "SessionCache",
}


def test_public_api_is_pinned_and_importable() -> None:
    assert set(agentmem.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(agentmem, name) is not None


LANGCHAIN_PUBLIC = {
    "AgentMemChatMessageHistory", "AgentMemEmbeddings", "AgentMemRetriever", "AgentMemStore",
    "AgentMemVectorStore", "LangChainCompletion", "LangChainEmbedder", "RecallInput",
    "RememberInput", "memory_tools",
}


def test_langchain_api_is_pinned_and_importable() -> None:
    import langchain_agentmem

    assert set(langchain_agentmem.__all__) == LANGCHAIN_PUBLIC
    for name in LANGCHAIN_PUBLIC:
        assert getattr(langchain_agentmem, name) is not None


LLAMAINDEX_PUBLIC = {
    "AgentMemChatStore", "AgentMemDBChatStore", "AgentMemEmbedding", "AgentMemVectorStore",
    "EpisodicMemoryBlock", "HeuristicFactExtractor", "LLMFactExtractor", "LlamaIndexCompletion",
    "LlamaIndexEmbedder",
    "ProceduralMemoryBlock", "SemanticMemoryBlock", "to_agentmem_filter",
}


def test_llamaindex_api_is_pinned_and_never_imports_langchain() -> None:
    import subprocess
    import sys

    import llamaindex_agentmem

    assert set(llamaindex_agentmem.__all__) == LLAMAINDEX_PUBLIC
    code = ("import sys, llamaindex_agentmem; "
            "print(sorted(m for m in sys.modules if m.startswith('langchain')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


LIFECYCLE_PUBLIC = {
    "Completion", "ENRICH_PROMPT", "EXTRACT_FACTS_PROMPT", "EXTRACT_PROCEDURES_PROMPT",
    "Enricher", "FactExtractor", "HeuristicEnricher", "HeuristicFactExtractor", "LABELS",
    "LLMEnricher", "LLMFactExtractor", "Turns", "CONSOLIDATE_PROMPT", "ConsolidationPolicy",
    "ConsolidationReport", "ExtractiveSummarizer", "LLMSummarizer", "Summarizer", "CleanupReport",
    "DEFAULT_TTL", "RetentionPolicy",
}


def test_lifecycle_api_is_pinned_and_imports_no_framework() -> None:
    import subprocess
    import sys

    from agentmem import lifecycle

    assert set(lifecycle.__all__) == LIFECYCLE_PUBLIC
    for name in LIFECYCLE_PUBLIC:
        assert getattr(lifecycle, name) is not None
    code = ("import sys, agentmem.lifecycle; "
            "print(sorted(m for m in sys.modules if m.startswith(('langchain', 'llama_index'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_error_tree() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), agentmem.AgentMemError)
    assert issubclass(agentmem.ConfigError, ValueError)
    assert issubclass(agentmem.InvalidFilter, agentmem.InvalidInput)
    assert issubclass(agentmem.BackendUnavailable, ConnectionError)
    assert issubclass(agentmem.NotFound, LookupError)


keys = st.one_of(st.sampled_from(["topic", "level", "importance", "user_id", "$and", "$or",
                                  "$eq", "$in", "$gt", "$bad", "a b", ""]), st.text(max_size=5))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                    st.text(max_size=4))
values: Any = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=3))
def test_parser_accepts_or_raises_invalid_filter_only(raw: dict[str, Any]) -> None:
    try:
        node = parse_filter(raw)
    except agentmem.InvalidFilter:
        return
    condition, params = to_sql(node)
    # every value travels as a bind parameter: as many %s as parameters
    assert condition.as_string(None).count("%s") == len(params)
    assert (to_chroma_where(node) is None) == (node is None)


def test_a_memory_read_back_from_a_store_equals_the_validated_one() -> None:
    from datetime import datetime, timedelta, timezone

    from agentmem import Memory

    local = timezone(timedelta(hours=2))
    fields: dict[str, Any] = dict(
        id="m1", content="text", memory_type="semantic", agent_id="a", user_id="u",
        session_id=None, importance=0.25, metadata={"k": [1, {"x": None}]}, source_ids=["s"],
        created_at=datetime(2024, 1, 1, 12, tzinfo=local), updated_at=datetime.now(timezone.utc),
        expires_at=None)
    fast, checked = Memory.from_store(**fields), Memory(**fields)
    assert fast == checked and repr(fast) == repr(checked)
    assert fast.model_dump_json() == checked.model_dump_json()
    assert fast.created_at.tzinfo == timezone.utc  # normalised like the validator does
    fast.importance = 0.5  # still a normal, validating model afterwards
    with pytest.raises(ValueError):
        fast.importance = 2.0
