"""AgentMemVectorStore on every mode: filters, nodes, indexes, query modes and tenancy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import MockLLM
from llama_index.core.schema import (
    BaseNode,
    IndexNode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from llama_index.core.vector_stores.utils import build_metadata_filter_fn

from agentmem import DimensionMismatch, HashingEmbedder, HybridMemory, InvalidFilter, InvalidInput, MemoryType
from llamaindex_agentmem.vector_store import AgentMemVectorStore, to_agentmem_filter
from tests.conftest import DIM, MODES
from tests.filter_cases import CASES, DOCS, IMPORTANCE
from tests.llamaindex.conftest import new_agent

EMBED = HashingEmbedder(DIM)
ALL_TYPES = list(MemoryType)


@pytest.fixture
def store(li_memory: HybridMemory) -> Iterator[AgentMemVectorStore]:
    s = AgentMemVectorStore(li_memory, agent_id=new_agent())
    try:
        yield s
    finally:
        li_memory.forget(agent_id=s.agent_id, memory_types=ALL_TYPES)


def ids(nodes: Any) -> list[str]:
    return [n.node_id for n in nodes]


def dense(text: str, k: int = 10, **fields: Any) -> VectorStoreQuery:
    return VectorStoreQuery(query_embedding=EMBED.embed_query(text), query_str=text,
                            similarity_top_k=k, **fields)


# -- filters: the shared table as LlamaIndex MetadataFilters ----------------------------------

_OPS = {"$eq": FilterOperator.EQ, "$ne": FilterOperator.NE, "$gt": FilterOperator.GT,
        "$gte": FilterOperator.GTE, "$lt": FilterOperator.LT, "$lte": FilterOperator.LTE,
        "$in": FilterOperator.IN, "$nin": FilterOperator.NIN}


def as_metadata_filters(where: dict[str, Any], unvalidated: list[str]) -> MetadataFilters:
    """An agentmem filter dict as LlamaIndex ``MetadataFilters`` (AND / OR groups).

    MetadataFilter's strict value types have no bool, so a bool comparison is built without
    validation (``model_construct``) and its field is appended to ``unvalidated``.
    """
    parts: list[MetadataFilter | MetadataFilters] = []
    for key, spec in where.items():
        if key in ("$and", "$or"):
            group = [as_metadata_filters(c, unvalidated) for c in spec]
            parts.append(MetadataFilters(filters=list(group), condition=FilterCondition(key[1:])))
            continue
        for op, value in (spec.items() if isinstance(spec, dict) else [("$eq", spec)]):
            if isinstance(value, bool):
                unvalidated.append(key)
                parts.append(MetadataFilter.model_construct(key=key, value=value,
                                                            operator=_OPS[op]))
            else:
                parts.append(MetadataFilter(key=key, value=value, operator=_OPS[op]))
    return MetadataFilters(filters=parts, condition=FilterCondition.AND)


def _li_cases() -> tuple[list[tuple[str, MetadataFilters, set[str]]], list[str]]:
    cases, with_bools = [], []
    for name, where, expected in CASES:
        unvalidated: list[str] = []
        cases.append((name, as_metadata_filters(where, unvalidated), expected))
        if unvalidated:
            with_bools.append(name)
    return cases, with_bools


LI_CASES, BOOL_CASES = _li_cases()


def test_the_whole_shared_table_is_translated() -> None:
    """All cases run; the two comparing with a bool need an unvalidated MetadataFilter."""
    assert [c[0] for c in LI_CASES] == [c[0] for c in CASES]
    assert BOOL_CASES == ["$eq bool", "nested"]
    with pytest.raises(ValueError):
        MetadataFilter(key="done", value=True)


@pytest.fixture(scope="module", params=MODES)
def filter_store(request: pytest.FixtureRequest,
                 hashing_memories: dict[str, HybridMemory]) -> Iterator[AgentMemVectorStore]:
    """DOCS as nodes (importance set on the memories), plus a memory of another type."""
    memory = hashing_memories[request.param]
    s = AgentMemVectorStore(memory, agent_id=new_agent("filters"))
    s.add([TextNode(id_=key, text=f"note {key} about {meta.get('topic', 'nothing')}",
                    metadata=meta) for key, meta in DOCS.items()])
    for key, importance in IMPORTANCE.items():
        memory.update(key, s.agent_id, importance=importance)
    memory.remember("note x about ml", s.agent_id, memory_type="episodic",
                    metadata={"topic": "ml"}, id="other-type")
    yield s
    memory.forget(agent_id=s.agent_id, memory_types=ALL_TYPES)


@pytest.mark.parametrize(("name", "filters", "expected"), LI_CASES,
                         ids=[c[0] for c in LI_CASES])
async def test_filter_cases(filter_store: AgentMemVectorStore, name: str,
                            filters: MetadataFilters, expected: set[str]) -> None:
    assert set(ids(filter_store.query(dense("note", filters=filters)).nodes or [])) == expected
    assert set(ids((await filter_store.aquery(dense("note", filters=filters))).nodes or [])) \
        == expected
    mmr = dense("note", filters=filters, mode=VectorStoreQueryMode.MMR)
    assert set(ids(filter_store.query(mmr).nodes or [])) == expected
    text = VectorStoreQuery(query_str="note", similarity_top_k=10, filters=filters,
                            mode=VectorStoreQueryMode.TEXT_SEARCH)
    assert set(ids(filter_store.query(text).nodes or [])) == expected
    got = filter_store.get_nodes(filters=filters)
    assert set(ids(got)) == expected
    assert all(n.metadata == DOCS[n.node_id] for n in got)


def _eq(key: str, value: Any, op: FilterOperator = FilterOperator.EQ) -> MetadataFilter:
    return MetadataFilter(key=key, value=value, operator=op)


def _not(*filters: MetadataFilter | MetadataFilters) -> MetadataFilters:
    return MetadataFilters(filters=list(filters), condition=FilterCondition.NOT)


NOT_CASES: list[tuple[str, MetadataFilters, set[str]]] = [
    ("not eq matches missing", _not(_eq("topic", "ml")), {"c", "d", "e"}),
    ("not ne", _not(_eq("topic", "ml", FilterOperator.NE)), {"a", "b"}),
    ("not in", _not(_eq("topic", ["ml", "python"], FilterOperator.IN)), {"e"}),
    ("not nin", _not(_eq("topic", ["ml"], FilterOperator.NIN)), {"a", "b"}),
    ("not means none match", _not(_eq("topic", "ml"), _eq("level", 10)), {"c", "e"}),
]
NESTED_NOT_CASES: list[tuple[str, MetadataFilters, set[str]]] = [
    ("and with not", MetadataFilters(filters=[_eq("topic", "python"), _not(_eq("level", 10))]),
     {"c"}),
    ("not over and", _not(MetadataFilters(filters=[_eq("topic", "ml"), _eq("level", 2)])),
     {"a", "c", "d", "e"}),
    ("not over or", _not(MetadataFilters(filters=[_eq("topic", "ml"), _eq("other", "x")],
                                         condition=FilterCondition.OR)), {"c", "d"}),
    ("double not", _not(_not(_eq("topic", "ml"))), {"a", "b"}),
    ("not keeps ordered ops outside", _not(MetadataFilters(
        filters=[_eq("topic", "ml"), _eq("level", 3)], condition=FilterCondition.OR)),
     {"d", "e"}),
]


@pytest.mark.parametrize(("name", "filters", "expected"), NOT_CASES, ids=[c[0] for c in NOT_CASES])
def test_not_agrees_with_llamaindex_reference_semantics(name: str, filters: MetadataFilters,
                                                        expected: set[str]) -> None:
    """LlamaIndex's in-memory matcher (SimpleVectorStore) gives the same sets."""
    match = build_metadata_filter_fn(lambda key: DOCS[key], filters)
    assert {key for key in DOCS if match(key)} == expected


@pytest.mark.parametrize(("name", "filters", "expected"), NOT_CASES + NESTED_NOT_CASES,
                         ids=[c[0] for c in NOT_CASES + NESTED_NOT_CASES])
async def test_not_condition(filter_store: AgentMemVectorStore, name: str,
                             filters: MetadataFilters, expected: set[str]) -> None:
    assert set(ids(filter_store.query(dense("note", filters=filters)).nodes or [])) == expected
    assert set(ids(await filter_store.aget_nodes(filters=filters))) == expected


def test_translation_of_groups_and_not() -> None:
    assert to_agentmem_filter(MetadataFilters(filters=[])) == {}
    assert to_agentmem_filter(MetadataFilters(filters=[_eq("topic", "ml")])) == \
        {"topic": {"$eq": "ml"}}
    nested = MetadataFilters(filters=[
        _eq("level", 2, FilterOperator.GTE),
        MetadataFilters(filters=[_eq("topic", ["ml"], FilterOperator.IN),
                                 _eq("done", 1, FilterOperator.NE)],
                        condition=FilterCondition.NOT),
    ], condition=FilterCondition.OR)
    assert to_agentmem_filter(nested) == {"$or": [
        {"level": {"$gte": 2}},
        {"$and": [{"topic": {"$nin": ["ml"]}}, {"done": {"$eq": 1}}]},
    ]}
    assert to_agentmem_filter(_not(_not(_eq("a", 1), _eq("b", 2)))) == \
        {"$or": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]}


REFUSED = {
    FilterOperator.ANY: ["x", "y"],
    FilterOperator.ALL: ["x", "y"],
    FilterOperator.CONTAINS: "x",
    FilterOperator.TEXT_MATCH: "pyth",
    FilterOperator.TEXT_MATCH_INSENSITIVE: "PYTH",
    FilterOperator.IS_EMPTY: None,
}


def test_every_llamaindex_operator_and_condition_is_decided() -> None:
    """A FilterOperator added by a future LlamaIndex fails here until it is mapped or refused."""
    assert set(FilterOperator) == set(_OPS.values()) | set(REFUSED)
    assert set(FilterCondition) == {FilterCondition.AND, FilterCondition.OR, FilterCondition.NOT}


@pytest.mark.parametrize("operator", list(REFUSED), ids=[op.name for op in REFUSED])
def test_unsupported_operators_raise_naming_the_operator(filter_store: AgentMemVectorStore,
                                                         operator: FilterOperator) -> None:
    filters = MetadataFilters(filters=[_eq("topic", REFUSED[operator], operator)])
    with pytest.raises(InvalidFilter, match=operator.name):
        to_agentmem_filter(filters)
    with pytest.raises(InvalidFilter, match=operator.name):
        filter_store.query(dense("note", filters=filters))
    with pytest.raises(InvalidFilter, match=operator.name):
        filter_store.get_nodes(filters=filters)
    with pytest.raises(InvalidFilter, match=operator.name):
        filter_store.delete_nodes(filters=filters)
    assert len(filter_store.get_nodes()) == len(DOCS)  # nothing was deleted


@pytest.mark.parametrize("operator", [FilterOperator.GT, FilterOperator.GTE, FilterOperator.LT,
                                      FilterOperator.LTE])
def test_not_over_an_ordered_comparison_is_refused(operator: FilterOperator) -> None:
    with pytest.raises(InvalidFilter, match=f"NOT over {operator.name}"):
        to_agentmem_filter(_not(_eq("level", 2, operator)))


@pytest.mark.parametrize("filters", [
    MetadataFilters(filters=[_eq("level", "high", FilterOperator.GT)]),
    MetadataFilters(filters=[_eq("topic", [], FilterOperator.IN)]),
    MetadataFilters(filters=[_eq("bad key; drop", "x")]),
    MetadataFilters(filters=[_eq("topic", None)]),
    MetadataFilters(filters=[_eq("importance", "high")]),
    MetadataFilters(filters=[MetadataFilters(filters=[])]),
], ids=["ordered-string", "empty-in", "bad-key", "none-value", "column-type", "empty-group"])
async def test_bad_filter_values_raise(filter_store: AgentMemVectorStore,
                                       filters: MetadataFilters) -> None:
    with pytest.raises(InvalidFilter):
        filter_store.query(dense("note", filters=filters))
    with pytest.raises(InvalidFilter):
        await filter_store.aquery(dense("note", filters=filters))


# -- nodes ------------------------------------------------------------------------------------


def rich_node(node_id: str = "n-1", doc: str = "doc-1", embed: bool = True) -> TextNode:
    text = "The user prefers dark mode in every editor"
    return TextNode(
        id_=node_id, text=text,
        metadata={"topic": "ui", "since": 2024, "weight": 0.5, "tags": ["a", "b"],
                  "nested": {"k": [1, 2]}},
        excluded_embed_metadata_keys=["since"], excluded_llm_metadata_keys=["weight"],
        relationships={
            NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc, metadata={"title": "prefs"}),
            NodeRelationship.NEXT: RelatedNodeInfo(node_id="n-2"),
        },
        embedding=EMBED.embed_documents([text])[0] if embed else None)


def assert_same_node(got: BaseNode, want: BaseNode) -> None:
    assert type(got) is type(want)
    assert got.node_id == want.node_id
    assert got.get_content() == want.get_content()
    assert got.metadata == want.metadata
    assert got.relationships == want.relationships
    assert got.ref_doc_id == want.ref_doc_id
    assert got.excluded_embed_metadata_keys == want.excluded_embed_metadata_keys
    assert got.excluded_llm_metadata_keys == want.excluded_llm_metadata_keys


async def test_node_round_trip(store: AgentMemVectorStore) -> None:
    node = rich_node()
    index_node = IndexNode.from_text_node(
        TextNode(id_="idx-1", text="a pointer to the sub index", metadata={"topic": "index"}),
        index_id="sub-7")
    assert store.add([node, index_node]) == ["n-1", "idx-1"]
    got = store.get_nodes(node_ids=["idx-1", "n-1"])
    assert ids(got) == ["idx-1", "n-1"]
    assert_same_node(got[1], node)
    assert_same_node(got[0], index_node)
    assert isinstance(got[0], IndexNode) and got[0].index_id == "sub-7"
    assert got[1].ref_doc_id == "doc-1"
    assert got[1].embedding is None
    result = store.query(VectorStoreQuery(query_embedding=node.embedding, similarity_top_k=1))
    assert result.ids == ["n-1"] and result.similarities is not None
    assert result.similarities[0] == pytest.approx(1.0, abs=1e-6)
    assert result.nodes is not None
    assert_same_node(result.nodes[0], node)
    # The user's metadata is filterable, and so is the source document.
    assert ids(store.get_nodes(filters=MetadataFilters(filters=[_eq("since", 2024)]))) == ["n-1"]
    assert ids(store.get_nodes(filters=MetadataFilters(filters=[_eq("doc_id", "doc-1")]))) \
        == ["n-1"]
    assert ids(await store.aget_nodes(node_ids=["n-1"])) == ["n-1"]


async def test_nodes_without_embeddings_are_embedded_by_the_memory(
        store: AgentMemVectorStore) -> None:
    bare = TextNode(id_="bare", text="penguins live in antarctica")
    given = rich_node(node_id="given")
    assert store.add([bare, given]) == ["bare", "given"]  # a mixed batch
    again = TextNode(id_="bare-async", text="kangaroos live in australia")
    assert await store.async_add([again]) == ["bare-async"]
    for node in (bare, again):
        hit = store.query(VectorStoreQuery(
            query_embedding=EMBED.embed_query(node.text), similarity_top_k=1))
        assert hit.ids == [node.node_id]
        assert hit.similarities is not None and hit.similarities[0] == pytest.approx(1.0, abs=1e-6)


def test_upsert_by_node_id(store: AgentMemVectorStore) -> None:
    store.add([TextNode(id_="u", text="first version", metadata={"v": 1})])
    store.add([TextNode(id_="u", text="second version", metadata={"v": 2})])
    (node,) = store.get_nodes()
    assert node.get_content() == "second version" and node.metadata == {"v": 2}


def test_bad_nodes_are_refused_before_anything_is_written(store: AgentMemVectorStore) -> None:
    with pytest.raises(InvalidInput, match="no text"):
        store.add([TextNode(id_="ok", text="fine"), TextNode(id_="empty", text="   ")])
    with pytest.raises(InvalidInput, match="cannot be stored"):
        store.add([TextNode(id_="x" * 300, text="an id longer than agentmem allows")])
    assert store.get_nodes() == []
    assert store.add([]) == []


def test_memories_written_without_llamaindex_come_back_as_text_nodes(
        store: AgentMemVectorStore) -> None:
    store.client.remember("plain agentmem memory", store.agent_id, memory_type="semantic",
                          metadata={"topic": "raw"}, id="raw-1")
    (node,) = store.get_nodes()
    assert isinstance(node, TextNode)
    assert (node.node_id, node.text, node.metadata) == ("raw-1", "plain agentmem memory",
                                                        {"topic": "raw"})


def _seed(store: AgentMemVectorStore) -> None:
    store.add([
        TextNode(id_="a1", text="alpha one", metadata={"k": "x"},
                 relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id="doc-a")}),
        TextNode(id_="a2", text="alpha two", metadata={"k": "y"},
                 relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id="doc-a")}),
        TextNode(id_="b1", text="beta one", metadata={"k": "x"},
                 relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id="doc-b")}),
        TextNode(id_="c1", text="gamma one", metadata={"k": "z"},
                 relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id="doc-c")}),
        TextNode(id_="d1", text="delta one", metadata={"k": "z"}),
    ])


def test_delete_get_and_clear(store: AgentMemVectorStore) -> None:
    _seed(store)
    other_type = AgentMemVectorStore(store.client, agent_id=store.agent_id,
                                     memory_type="procedural")
    other_type.add([TextNode(id_="p1", text="alpha procedure", metadata={"k": "x"},
                             relationships={NodeRelationship.SOURCE:
                                            RelatedNodeInfo(node_id="doc-a")})])
    assert ids(store.get_nodes()) == ["a1", "a2", "b1", "c1", "d1"]
    assert ids(store.get_nodes(node_ids=["p1", "b1"])) == ["b1"]  # only this store's type
    x = MetadataFilters(filters=[_eq("k", "x")])
    assert ids(store.get_nodes(node_ids=["a1", "a2"], filters=x)) == ["a1"]

    store.delete("doc-a")
    assert ids(store.get_nodes()) == ["b1", "c1", "d1"]
    assert ids(other_type.get_nodes()) == ["p1"]  # same document, other memory type: kept
    store.delete_nodes()  # neither ids nor filters: nothing
    store.delete_nodes(node_ids=[])
    assert len(store.get_nodes()) == 3
    store.delete_nodes(node_ids=["b1", "missing"])
    assert ids(store.get_nodes()) == ["c1", "d1"]
    store.delete_nodes(node_ids=["c1", "d1"], filters=MetadataFilters(filters=[_eq("k", "q")]))
    assert ids(store.get_nodes()) == ["c1", "d1"]  # ids AND filters
    store.delete_nodes(filters=MetadataFilters(filters=[_eq("doc_id", "doc-c")]))
    assert ids(store.get_nodes()) == ["d1"]
    store.clear()
    assert store.get_nodes() == []
    assert ids(other_type.get_nodes()) == ["p1"]


async def test_async_delete_get_and_clear(store: AgentMemVectorStore) -> None:
    _seed(store)
    assert ids(await store.aget_nodes(node_ids=["c1", "a1"])) == ["c1", "a1"]
    await store.adelete("doc-a")
    assert ids(await store.aget_nodes()) == ["b1", "c1", "d1"]
    await store.adelete_nodes(node_ids=["b1"])
    await store.adelete_nodes()
    assert ids(await store.aget_nodes()) == ["c1", "d1"]
    await store.adelete_nodes(filters=MetadataFilters(filters=[_eq("k", "z")]))
    assert await store.aget_nodes() == []
    _seed(store)
    await store.aclear()
    assert await store.aget_nodes() == []


# -- LlamaIndex indexes, retrievers and query engines -----------------------------------------

DOCUMENTS = [
    Document(text="The user prefers dark mode in every editor.", id_="doc-theme",
             metadata={"topic": "ui"}),
    Document(text="The deployment runs on Kubernetes in the Frankfurt region.", id_="doc-deploy",
             metadata={"topic": "ops"}),
    Document(text="Invoices are paid by bank transfer within thirty days.", id_="doc-billing",
             metadata={"topic": "billing"}),
]


async def test_index_from_documents_and_from_vector_store(
        store: AgentMemVectorStore, li_embed_model: BaseEmbedding) -> None:
    index = VectorStoreIndex.from_documents(
        DOCUMENTS, storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=li_embed_model)
    assert {n.ref_doc_id for n in store.get_nodes()} == {d.id_ for d in DOCUMENTS}
    hits = index.as_retriever(similarity_top_k=1).retrieve("which kubernetes region?")
    assert [h.node.ref_doc_id for h in hits] == ["doc-deploy"]
    assert "Frankfurt" in hits[0].node.get_content()

    engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=1)
    response = engine.query("does the user prefer dark mode?")
    assert [n.node.ref_doc_id for n in response.source_nodes] == ["doc-theme"]
    assert "dark mode" in str(response)
    aresponse = await engine.aquery("how are invoices paid?")
    assert [n.node.ref_doc_id for n in aresponse.source_nodes] == ["doc-billing"]

    reopened = VectorStoreIndex.from_vector_store(store, embed_model=li_embed_model)
    ui = MetadataFilters(filters=[_eq("topic", "ui")])
    hits = await reopened.as_retriever(similarity_top_k=3, filters=ui).aretrieve("region")
    assert [h.node.ref_doc_id for h in hits] == ["doc-theme"]
    hits = reopened.as_retriever(similarity_top_k=3, doc_ids=["doc-billing"]).retrieve("region")
    assert [h.node.ref_doc_id for h in hits] == ["doc-billing"]

    index.delete_ref_doc("doc-deploy")
    assert {n.ref_doc_id for n in store.get_nodes()} == {"doc-theme", "doc-billing"}
    reopened.insert(Document(text="Backups run nightly at two.", id_="doc-backup"))
    hits = reopened.as_retriever(similarity_top_k=1).retrieve("when do backups run?")
    assert [h.node.ref_doc_id for h in hits] == ["doc-backup"]


# -- query modes ------------------------------------------------------------------------------


def test_mmr_mode_prefers_diverse_nodes(store: AgentMemVectorStore,
                                        li_embed_model: BaseEmbedding) -> None:
    store.add([TextNode(id_=f"dup{i}", text="python list comprehension tutorial")
               for i in range(3)] + [TextNode(id_="other", text="python decorators explained")])
    index = VectorStoreIndex.from_vector_store(store, embed_model=li_embed_model)
    plain = index.as_retriever(similarity_top_k=2).retrieve("python list comprehension")
    assert {h.node.node_id for h in plain} <= {"dup0", "dup1", "dup2"}
    diverse = index.as_retriever(similarity_top_k=2, vector_store_query_mode="mmr",
                                 vector_store_kwargs={"mmr_threshold": 0.3}
                                 ).retrieve("python list comprehension")
    assert diverse[0].node.node_id.startswith("dup") and diverse[1].node.node_id == "other"
    # mmr_threshold 1.0 is pure relevance; the query's own field wins over the keyword.
    query = VectorStoreQuery(query_embedding=EMBED.embed_query("python list comprehension"),
                             similarity_top_k=2, mode=VectorStoreQueryMode.MMR, mmr_threshold=1.0)
    assert set(store.query(query, mmr_threshold=0.0, mmr_prefetch_k=4).ids or []) \
        <= {"dup0", "dup1", "dup2"}
    with pytest.raises(InvalidInput, match="not both"):
        store.query(query, mmr_prefetch_k=4, mmr_prefetch_factor=2.0)


REPORT = ("Incident report: during the migration weekend the payments team saw the zebra service "
          "return an error at checkout for several merchants in three regions, while the mobile "
          "application kept retrying silently and nobody was paged until Monday")
LEXICAL_QUERY = "zebra checkout error merchants"


@pytest.fixture
def lexical_store(store: AgentMemVectorStore) -> AgentMemVectorStore:
    """Short notes that are densely closer to the query; one long report sharing its words."""
    store.add([TextNode(id_="report", text=REPORT)] +
              [TextNode(id_=f"note{i}", text=f"checkout error {i}") for i in range(3)])
    return store


async def test_text_search_and_hybrid_return_the_lexical_match(
        lexical_store: AgentMemVectorStore, li_embed_model: BaseEmbedding) -> None:
    index = VectorStoreIndex.from_vector_store(lexical_store, embed_model=li_embed_model)
    dense_hits = index.as_retriever(similarity_top_k=3).retrieve(LEXICAL_QUERY)
    assert "report" not in {h.node.node_id for h in dense_hits}

    text = index.as_retriever(similarity_top_k=3, vector_store_query_mode="text_search")
    hits = text.retrieve(LEXICAL_QUERY)
    assert hits[0].node.node_id == "report" and hits[0].node.get_content() == REPORT
    assert text.retrieve("zeppelin") == []
    assert (await text.aretrieve(LEXICAL_QUERY))[0].node.node_id == "report"

    hybrid = index.as_retriever(similarity_top_k=3, vector_store_query_mode="hybrid")
    assert "report" in {h.node.node_id for h in hybrid.retrieve(LEXICAL_QUERY)}
    assert "report" in {h.node.node_id for h in await hybrid.aretrieve(LEXICAL_QUERY)}
    lexical_only = index.as_retriever(similarity_top_k=3, vector_store_query_mode="hybrid",
                                      alpha=0.0)
    assert lexical_only.retrieve(LEXICAL_QUERY)[0].node.node_id == "report"
    dense_only = index.as_retriever(similarity_top_k=3, vector_store_query_mode="hybrid", alpha=1.0)
    assert [h.node.node_id for h in dense_only.retrieve(LEXICAL_QUERY)] == \
        [h.node.node_id for h in dense_hits]


def test_query_restrictions_and_top_k(lexical_store: AgentMemVectorStore) -> None:
    q = dense(LEXICAL_QUERY, k=10, node_ids=["report", "note1"])
    assert set(lexical_store.query(q).ids or []) == {"report", "note1"}
    q = dense(LEXICAL_QUERY, k=10, node_ids=[])  # what an index over this store passes
    assert len(lexical_store.query(q).ids or []) == 4
    q = dense(LEXICAL_QUERY, k=2)
    result = lexical_store.query(q)
    assert len(result.ids or []) == len(result.nodes or []) == len(result.similarities or []) == 2
    text = VectorStoreQuery(query_str=LEXICAL_QUERY, similarity_top_k=1, sparse_top_k=3,
                            mode=VectorStoreQueryMode.TEXT_SEARCH)
    assert len(lexical_store.query(text).ids or []) == 3
    hybrid = VectorStoreQuery(query_str=LEXICAL_QUERY, similarity_top_k=1, hybrid_top_k=2,
                              mode=VectorStoreQueryMode.HYBRID)
    assert len(lexical_store.query(hybrid).ids or []) == 2
    by_text = VectorStoreQuery(query_str="checkout error 1", similarity_top_k=1)
    assert lexical_store.query(by_text).ids == ["note1"]  # no embedding: agentmem embeds


@pytest.mark.parametrize("query_mode", [VectorStoreQueryMode.SPARSE,
                                        VectorStoreQueryMode.SEMANTIC_HYBRID,
                                        VectorStoreQueryMode.SVM,
                                        VectorStoreQueryMode.LOGISTIC_REGRESSION,
                                        VectorStoreQueryMode.LINEAR_REGRESSION])
async def test_other_query_modes_are_refused(store: AgentMemVectorStore,
                                             query_mode: VectorStoreQueryMode) -> None:
    with pytest.raises(InvalidInput, match=f"query mode '{query_mode.value}' is not supported"):
        store.query(dense("x", mode=query_mode))
    with pytest.raises(InvalidInput, match=query_mode.value):
        await store.aquery(dense("x", mode=query_mode))


def test_every_query_mode_is_decided() -> None:
    refused = {VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.SEMANTIC_HYBRID,
               VectorStoreQueryMode.SVM, VectorStoreQueryMode.LOGISTIC_REGRESSION,
               VectorStoreQueryMode.LINEAR_REGRESSION}
    supported = {VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR,
                 VectorStoreQueryMode.TEXT_SEARCH, VectorStoreQueryMode.HYBRID}
    assert set(VectorStoreQueryMode) == refused | supported


def test_bad_queries_raise(store: AgentMemVectorStore) -> None:
    with pytest.raises(InvalidInput, match="needs a query_str"):
        store.query(VectorStoreQuery(query_embedding=EMBED.embed_query("x"),
                                     mode=VectorStoreQueryMode.TEXT_SEARCH))
    with pytest.raises(InvalidInput, match="needs a query_str"):
        store.query(VectorStoreQuery(query_embedding=EMBED.embed_query("x"),
                                     mode=VectorStoreQueryMode.HYBRID))
    with pytest.raises(InvalidInput, match="query_embedding or a query_str"):
        store.query(VectorStoreQuery(similarity_top_k=2))
    with pytest.raises(InvalidInput, match="alpha"):
        store.query(VectorStoreQuery(query_str="x", alpha=1.5, mode=VectorStoreQueryMode.HYBRID))
    with pytest.raises(DimensionMismatch, match="dimension"):
        store.query(VectorStoreQuery(query_embedding=[0.1, 0.2], similarity_top_k=1))
    with pytest.raises(TypeError, match="surprise"):
        store.query(dense("x"), surprise=1)
    with pytest.raises(TypeError, match="surprise"):
        store.add([], surprise=1)


# -- construction and tenancy -----------------------------------------------------------------


def test_construction(li_memory: HybridMemory) -> None:
    s = AgentMemVectorStore(li_memory, agent_id="a-1", memory_type="episodic")
    assert s.client is li_memory
    assert s.stores_text and s.is_embedding_query
    assert s.memory_type is MemoryType.EPISODIC
    assert s.class_name() == "AgentMemVectorStore"
    assert "a-1" in repr(s) and li_memory.mode in repr(s)
    with pytest.raises(InvalidInput, match="HybridMemory"):
        AgentMemVectorStore(object(), agent_id="a-1")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="agent_id"):
        AgentMemVectorStore(li_memory, agent_id=" ")
    with pytest.raises(InvalidInput, match="memory type"):
        AgentMemVectorStore(li_memory, agent_id="a-1", memory_type="dreams")


async def test_agents_never_see_each_other(li_memory: HybridMemory) -> None:
    a = AgentMemVectorStore(li_memory, agent_id=new_agent("tenant-a"))
    b = AgentMemVectorStore(li_memory, agent_id=new_agent("tenant-b"))
    try:
        secret = TextNode(id_="shared-id", text="agent A secret launch code zebra",
                          metadata={"topic": "secret"},
                          relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id="doc")})
        a.add([secret])
        b.add([TextNode(id_="b-own", text="agent B grocery list",
                        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id="doc")})])
        q = dense("secret launch code zebra", k=10)
        assert b.query(q).ids == ["b-own"]
        assert (await b.aquery(q)).ids == ["b-own"]
        text = VectorStoreQuery(query_str="zebra", similarity_top_k=5,
                                mode=VectorStoreQueryMode.TEXT_SEARCH)
        assert b.query(text).ids == []
        hybrid = VectorStoreQuery(query_str="zebra secret", similarity_top_k=5,
                                  mode=VectorStoreQueryMode.HYBRID)
        assert b.query(hybrid).ids == ["b-own"]
        assert b.get_nodes(node_ids=["shared-id"]) == []
        assert ids(b.get_nodes(filters=MetadataFilters(filters=[_eq("topic", "secret")]))) == []
        # B's deletes never reach A, even by A's node id or A's document id.
        b.delete("doc")
        b.delete_nodes(node_ids=["shared-id"])
        await b.aclear()
        assert ids(a.get_nodes()) == ["shared-id"]
        # The same node id under B is B's own node.
        b.add([TextNode(id_="shared-id", text="B's node with the same id")])
        assert a.get_nodes(node_ids=["shared-id"])[0].get_content() == secret.text
    finally:
        for s in (a, b):
            li_memory.forget(agent_id=s.agent_id, memory_types=ALL_TYPES)


def test_hybrid_uses_the_query_embedding_llamaindex_gives(store: AgentMemVectorStore) -> None:
    emb = HashingEmbedder(DIM)
    garden = TextNode(id_="garden", text="a note about gardening and tomatoes",
                      embedding=emb.embed_query("gardening tomatoes"))
    code = TextNode(id_="code", text="error code XJ-4471 on checkout",
                    embedding=emb.embed_query("error code XJ-4471 on checkout"))
    store.add([garden, code])
    vector = emb.embed_query("gardening tomatoes")
    dense_only = VectorStoreQuery(query_embedding=vector, query_str="XJ-4471", similarity_top_k=1,
                                  mode=VectorStoreQueryMode.HYBRID, alpha=1.0)
    assert store.query(dense_only).ids == ["garden"]  # not a re-embedding of query_str
    mostly_words = VectorStoreQuery(query_embedding=vector, query_str="XJ-4471",
                                    similarity_top_k=1, mode=VectorStoreQueryMode.HYBRID,
                                    alpha=0.1)
    assert store.query(mostly_words).ids == ["code"]
