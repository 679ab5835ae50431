"""`agentmem import`: real langchain-postgres and langchain-chroma stores copied into agentmem.

Sources are written with the LangChain packages themselves (PGVector, PGVectorStore, Chroma)
on the session PostgreSQL and on Chroma servers or directories; the import runs as the
`agentmem` command (and once through the Python API) into a fresh agentmem store.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import chromadb
import psycopg
from chromadb.config import Settings
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_postgres import Column, ColumnDict, PGEngine, PGVector, PGVectorStore

from agentmem import ChromaBackend, HashingEmbedder, HybridMemory, NotFound, PostgresBackend
from agentmem.importers import ImportReport, import_chroma
from tests.servers import ChromaServer
from tests.test_cli import run

NewDatabase = Callable[[], str]


def sqlalchemy_url(url: str) -> str:
    """The session server's libpq URL (unix socket in ``?host=``) as SQLAlchemy+psycopg 3 wants it."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def docs(n: int, prefix: str) -> list[Document]:
    return [Document(page_content=f"{prefix} note {i}: the {['red', 'green', 'blue'][i % 3]} "
                                  f"fox number {i} jumps", id=f"{prefix}-{i}",
                     metadata={"n": i, "half": i / 2, "even": i % 2 == 0, "tag": f"t{i % 3}",
                               "nested": {"list": [i, "x"]}})
            for i in range(n)]


@contextmanager
def pg_target(new_database: NewDatabase, dim: int) -> Iterator[tuple[dict[str, str], HybridMemory]]:
    """A fresh, migrated agentmem store in pgvector mode: (its env, a memory over it)."""
    url = new_database()
    memory = HybridMemory(embedder=HashingEmbedder(dim), postgres=PostgresBackend(url))
    memory.init()
    try:
        yield {"AGENTMEM_POSTGRES_URL": url, "AGENTMEM_EMBEDDINGS": f"hashing:{dim}"}, memory
    finally:
        memory.close()


def imported(result: Any) -> dict[str, Any]:
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["ok"] and report["problem"] is None
    return report


def test_pgvector_collection_with_and_without_same_model(tmp_path: Path,
                                                         new_database: NewDatabase) -> None:
    source = new_database()
    fake = DeterministicFakeEmbedding(size=64)
    kb = PGVector(embeddings=fake, collection_name="kb", connection=sqlalchemy_url(source),
                  use_jsonb=True)
    originals = docs(7, "kb")
    kb.add_documents(originals)
    PGVector(embeddings=fake, collection_name="other", connection=sqlalchemy_url(source),
             use_jsonb=True).add_documents(docs(2, "other"))
    messy = PGVector(embeddings=fake, collection_name="messy", connection=sqlalchemy_url(source),
                     use_jsonb=True)
    messy.add_documents([Document("fine", id="ok-1"), Document("   ", id="blank-1"),
                         Document("also fine", id="ok-2")])
    by_id = {d.id: d for d in originals}

    with pg_target(new_database, 64) as (env, memory):
        # --same-model and dimension 64 = hashing:64: the vectors are copied.
        args = ["import", "--from", "langchain-postgres", sqlalchemy_url(source),
                "--collection", "kb", "--agent", "copier"]
        report = imported(run(tmp_path, *args, "--same-model", "--batch-size", "3", "--json",
                              **env))
        assert (report["layout"], report["source_count"], report["imported"],
                report["arrived"], report["batches"]) == ("pgvector", 7, 7, 7, 3)
        assert (report["vectors"], report["vectors_copied"], report["source_dimension"]) == (
            "copied", 7, 64)
        stored = memory.memories("copier")
        assert {m.id: m.content for m in stored} == {i: d.page_content for i, d in by_id.items()}
        for m in stored:
            assert m.metadata == by_id[m.id].metadata and type(m.metadata["n"]) is int
            assert m.memory_type.value == "semantic"
        hit = memory.recall_by_vector(fake.embed_query(by_id["kb-3"].page_content), "copier", k=1)[0]
        assert hit.memory.id == "kb-3" and hit.score > 0.999  # the source vector itself

        again = run(tmp_path, *args, "--same-model", **env)  # idempotent, human output
        assert again.returncode == 0, again.stdout + again.stderr
        assert "vectors: copied" in again.stdout and "7 arrived" in again.stdout
        assert memory.stats("copier").total == 7

        # Without --same-model the text is re-embedded with agentmem's embedder.
        report = imported(run(tmp_path, *args[:-1], "embedder", "--json", **env))
        assert (report["vectors"], report["vectors_embedded"]) == ("re-embedded", 7)
        assert "--same-model" in report["vectors_reason"]
        text = by_id["kb-5"].page_content
        hit = memory.recall_by_vector(HashingEmbedder(64).embed_query(text), "embedder", k=1)[0]
        assert hit.memory.id == "kb-5" and hit.score > 0.999
        fake_hit = memory.recall_by_vector(fake.embed_query(text), "embedder", k=1)[0]
        assert fake_hit.score < 0.9

        # A record that cannot become a memory fails the import, or is skipped and counted.
        messy_args = [*args[:5], "messy", "--agent", "messy"]
        failed = run(tmp_path, *messy_args, **env)
        assert failed.returncode == 1
        assert "InvalidInput" in failed.stderr and "'blank-1'" in failed.stderr
        assert "--skip-invalid" in failed.stderr
        report = imported(run(tmp_path, *messy_args, "--skip-invalid", "--json", **env))
        assert (report["source_count"], report["imported"], report["skipped"]) == (3, 2, 1)
        assert report["skipped_examples"][0].startswith("blank-1: ")
        assert {m.id for m in memory.memories("messy")} == {"ok-1", "ok-2"}

        missing = run(tmp_path, *args[:5], "nope", "--agent", "x", **env)
        assert missing.returncode == 1
        assert "NotFound" in missing.stderr and "'nope'" in missing.stderr


def test_pgvectorstore_table_into_chroma(tmp_path: Path, new_database: NewDatabase,
                                         own_chroma: ChromaServer) -> None:
    source = new_database()
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA lc")
    engine = PGEngine.from_connection_string(sqlalchemy_url(source))
    fake = DeterministicFakeEmbedding(size=16)
    columns: list[Column | ColumnDict] = [Column("topic", "TEXT"), Column("year", "INTEGER"),
                                          Column("price", "NUMERIC")]
    engine.init_vectorstore_table("notes", 16, schema_name="lc", metadata_columns=columns)
    store = PGVectorStore.create_sync(engine, embedding_service=fake, table_name="notes",
                                      schema_name="lc", metadata_columns=["topic", "year", "price"])
    ids = [str(uuid.uuid4()) for _ in range(5)]
    store.add_documents([
        Document(f"note {i} about {'cats' if i % 2 else 'dogs'}",
                 metadata={"topic": "pets", "year": 2020 + i, "price": 9.5, "k": i, "f": 0.25})
        for i in range(4)] + [Document("bare note", metadata={"k": 99})], ids=ids)
    # A PGVector collection and a PGVectorStore table that share a name.
    engine.init_vectorstore_table("shared", 16)
    PGVectorStore.create_sync(engine, embedding_service=fake, table_name="shared"
                              ).add_documents([Document("from the table")])
    PGVector(embeddings=fake, collection_name="shared", connection=sqlalchemy_url(source)
             ).add_documents([Document("from the collection"), Document("and another")])
    expected = {str(d.id): d for d in store.get_by_ids(ids)}
    asyncio.run(engine.close())

    dim = 32
    target = HybridMemory(embedder=HashingEmbedder(dim), chroma=ChromaBackend(own_chroma.url))
    target.init()
    env = {"AGENTMEM_CHROMA_URL": own_chroma.url, "AGENTMEM_EMBEDDINGS": f"hashing:{dim}"}
    base = ["import", "--from", "langchain-postgres", source]
    try:
        report = imported(run(tmp_path, *base, "--collection", "lc.notes", "--agent", "a",
                              "--same-model", "--memory-type", "procedural", "--json", **env))
        assert (report["layout"], report["imported"], report["arrived"]) == ("pgvectorstore", 5, 5)
        assert report["vectors"] == "re-embedded" and "dimension 16" in report["vectors_reason"]
        assert "lc.notes" in report["source"]
        stored = {m.id: m for m in target.memories("a", memory_types="procedural")}
        assert set(stored) == set(ids)
        for i, doc in expected.items():
            # metadata as PGVectorStore returns it: the JSON column plus the custom columns
            assert stored[i].content == doc.page_content
            assert stored[i].metadata == doc.metadata, (stored[i].metadata, doc.metadata)
        assert stored[ids[2]].metadata == {"topic": "pets", "year": 2022, "price": 9.5, "k": 2,
                                           "f": 0.25}
        assert stored[ids[4]].metadata == {"k": 99, "topic": None, "year": None, "price": None}
        assert type(stored[ids[2]].metadata["year"]) is int
        hit = target.recall("note 3 about cats", "a", k=1)[0]
        assert hit.memory.id == ids[3] and hit.score > 0.999

        again = imported(run(tmp_path, *base, "--collection", "lc.notes", "--agent", "a",
                             "--memory-type", "procedural", "--json", **env))
        assert again["imported"] == 5 and target.stats("a").total == 5

        ambiguous = run(tmp_path, *base, "--collection", "shared", "--agent", "b", **env)
        assert ambiguous.returncode == 1 and "--layout" in ambiguous.stderr
        table = imported(run(tmp_path, *base, "--collection", "shared", "--agent", "b",
                             "--layout", "pgvectorstore", "--json", **env))
        assert (table["layout"], table["imported"]) == ("pgvectorstore", 1)
        coll = imported(run(tmp_path, *base, "--collection", "shared", "--agent", "c",
                            "--layout", "pgvector", "--json", **env))
        assert (coll["layout"], coll["imported"]) == ("pgvector", 2)

        missing = run(tmp_path, *base, "--collection", "lc.nope", "--agent", "x", **env)
        assert missing.returncode == 1
        assert "NotFound" in missing.stderr and "lc.nope" in missing.stderr
    finally:
        target.close()


def test_chroma_server_collection_into_pgvector(tmp_path: Path, new_database: NewDatabase,
                                                own_chroma: ChromaServer) -> None:
    fake = DeterministicFakeEmbedding(size=48)
    client = chromadb.HttpClient(host="127.0.0.1", port=own_chroma.port,
                                 settings=Settings(anonymized_telemetry=False))
    originals = docs(9, "chroma")
    for d in originals:
        d.metadata.pop("nested")  # Chroma stores flat metadata only
    Chroma(collection_name="notes", embedding_function=fake, client=client
           ).add_documents(originals, ids=[str(d.id) for d in originals])
    by_id = {d.id: d for d in originals}

    with pg_target(new_database, 48) as (env, memory):
        args = ["import", "--from", "chroma", own_chroma.url, "--collection", "notes",
                "--agent", "c", "--memory-type", "episodic", "--same-model", "--batch-size", "4"]
        report = imported(run(tmp_path, *args, "--json", **env))
        assert (report["layout"], report["source_count"], report["arrived"], report["batches"]) \
            == ("chroma", 9, 9, 3)
        assert (report["vectors"], report["vectors_copied"]) == ("copied", 9)
        stored = memory.memories("c", memory_types="episodic")
        assert {m.id for m in stored} == set(by_id)
        for m in stored:
            assert m.content == by_id[m.id].page_content
            assert m.metadata == by_id[m.id].metadata and type(m.metadata["n"]) is int
        hit = memory.recall_by_vector(fake.embed_query(by_id["chroma-4"].page_content), "c", k=1)[0]
        assert hit.memory.id == "chroma-4" and hit.score > 0.999

        again = run(tmp_path, *args, **env)
        assert again.returncode == 0 and "9 arrived" in again.stdout
        assert memory.stats("c").total == 9

        missing = run(tmp_path, *args[:5], "nope", "--agent", "c", **env)
        assert missing.returncode == 1
        assert "NotFound" in missing.stderr and "notes" in missing.stderr  # lists what is there


def test_chroma_directory_through_the_python_api(tmp_path: Path,
                                                 new_database: NewDatabase) -> None:
    persist = tmp_path / "lc-chroma"
    fake = DeterministicFakeEmbedding(size=24)
    originals = docs(5, "dir")
    for d in originals:
        d.metadata.pop("nested")
    Chroma(collection_name="kb-notes", embedding_function=fake, persist_directory=str(persist)
           ).add_documents(originals, ids=[str(d.id) for d in originals])
    seen: list[tuple[int, int]] = []

    with pg_target(new_database, 24) as (_, memory):
        report = import_chroma(memory, str(persist), "kb-notes", "d", batch_size=2,
                               progress=lambda done, total: seen.append((done, total)))
        assert isinstance(report, ImportReport) and report.ok
        assert (report.imported, report.arrived, report.batches) == (5, 5, 3)
        assert report.vectors == "re-embedded" and report.source_dimension == 24
        assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]
        assert {m.id: m.metadata for m in memory.memories("d")} == {
            str(d.id): d.metadata for d in originals}
        try:
            import_chroma(memory, str(tmp_path / "empty"), "kb", "d")
        except NotFound as exc:
            assert "no Chroma directory" in str(exc)
        else:
            raise AssertionError("a missing Chroma directory was accepted")


def test_unreachable_sources_fail_clearly(tmp_path: Path) -> None:
    env = {"AGENTMEM_CHROMA_URL": str(tmp_path / "target"), "AGENTMEM_EMBEDDINGS": "hashing:8"}
    pg = run(tmp_path, "import", "--from", "langchain-postgres",
             "postgresql://reader:s3cret@127.0.0.1:1/kb", "--collection", "kb", "--agent", "a",
             **env)
    assert pg.returncode == 4
    assert "BackendUnavailable" in pg.stderr and "reader:***@127.0.0.1:1/kb" in pg.stderr
    assert "s3cret" not in pg.stderr + pg.stderr
    chroma = run(tmp_path, "import", "--from", "chroma", "http://127.0.0.1:1", "--collection",
                 "kb", "--agent", "a", **env)
    assert chroma.returncode == 4
    assert "BackendUnavailable" in chroma.stderr and "http://127.0.0.1:1" in chroma.stderr


def test_the_count_check_names_what_is_missing() -> None:
    report = ImportReport(source="s", layout="chroma", agent_id="a", memory_type="semantic",
                          source_count=5, read=5, imported=4, arrived=4, skipped=1)
    assert report.ok
    report.skipped = 0
    assert report.problem is not None and "5 records but 4 were imported" in report.problem
    report.read, report.skipped = 6, 1
    assert report.problem is not None and "changed meanwhile" in report.problem
    report.read, report.arrived = 5, 3
    assert report.problem is not None and "only 3 can be read back" in report.problem
    assert report.to_dict()["ok"] is False
