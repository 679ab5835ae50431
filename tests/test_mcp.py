"""The MCP server with the SDK's own client: in-process, over stdio and over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from agentmem import HybridMemory
from agentmem.mcp import AgentNotAllowed, Tenancy, build_server
from agentmem.tools import TOOLS, RecallArgs, RememberArgs
from tests.conftest import DIM, make_memory
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
TOOL_NAMES = ["remember", "recall", "forget", "list_memories", "history", "stats"]


@pytest.fixture
def pg_memory(pg_url: str, chroma_url: str) -> Iterator[HybridMemory]:
    memory = make_memory("pgvector", pg_url, chroma_url)
    yield memory
    memory.close()


def client(memory: HybridMemory, agent_id: str, *allowed: str) -> Client:
    return Client(build_server(memory, Tenancy.of(agent_id, allowed)), cache=None)


async def call(c: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await c.call_tool(tool, args)
    assert not result.is_error, result.content
    body: dict[str, Any] | None = result.structured_content
    assert body is not None
    assert json.loads(result.content[0].text) == body  # type: ignore[union-attr]
    return body


def error_text(result: Any) -> str:
    assert result.is_error
    return str(result.content[0].text)


async def test_tools_and_schemas(pg_memory: HybridMemory, agent_id: str) -> None:
    async with client(pg_memory, agent_id) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
    assert list(tools) == TOOL_NAMES
    for spec in TOOLS:
        assert tools[spec.name].input_schema == spec.args.model_json_schema()
        assert tools[spec.name].description
    remember = tools["remember"].input_schema
    assert remember["required"] == ["content"]
    assert set(remember["properties"]) == {"content", "memory_type", "importance", "metadata"}
    assert remember["additionalProperties"] is False
    assert remember["properties"]["importance"]["maximum"] == 1.0
    recall = tools["recall"].input_schema
    assert recall["required"] == ["query"]
    assert set(recall["properties"]) == {"query", "k", "memory_types", "filter"}
    assert tools["forget"].input_schema["required"] == ["ids"]
    assert tools["history"].input_schema["required"] == ["session_id"]
    assert "required" not in tools["stats"].input_schema
    assert tools["recall"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["forget"].annotations.destructive_hint is True  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["pgvector", "hybrid"])
async def test_remember_then_recall_in_a_new_connection(mode: str, pg_url: str, chroma_url: str,
                                                        agent_id: str) -> None:
    memory = make_memory(mode, pg_url, chroma_url)
    try:
        async with client(memory, agent_id) as c:
            stored = await call(c, "remember", {
                "content": "The user's cat is called Miso", "importance": 0.9,
                "metadata": {"topic": "pets"}})
            await call(c, "remember", {"content": "Deployed billing on Friday",
                                       "memory_type": "episodic"})
        assert stored["agent_id"] == agent_id and stored["memory_type"] == "semantic"
        memory.flush_index(agent_id)
        async with client(memory, agent_id) as c:
            found = await call(c, "recall", {"query": "what is the cat called?", "k": 1,
                                             "filter": {"topic": "pets"}})
            episodic = await call(c, "recall", {"query": "billing",
                                                "memory_types": ["episodic"]})
            listed = await call(c, "list_memories", {"limit": 10})
            stats = await call(c, "stats", {})
            one = await c.read_resource(f"agentmem://memories/{stored['id']}")
        [hit] = found["hits"]
        assert hit["memory"]["id"] == stored["id"] and 0 < hit["score"] <= 1
        assert [h["memory"]["content"] for h in episodic["hits"]] == ["Deployed billing on Friday"]
        assert len(listed["memories"]) == 2 and stats["total"] == 2
        assert stats["by_type"]["semantic"] == 1
        assert json.loads(one.contents[0].text)["content"] == "The user's cat is called Miso"  # type: ignore[union-attr]
    finally:
        memory.close()


async def test_bad_input_is_a_tool_error_with_the_agentmem_message(pg_memory: HybridMemory,
                                                                   agent_id: str) -> None:
    async with client(pg_memory, agent_id) as c:
        empty = error_text(await c.call_tool("remember", {"content": ""}))
        blank = error_text(await c.call_tool("remember", {"content": "   "}))
        extra = error_text(await c.call_tool("recall", {"query": "x", "bogus": 1}))
        bad_filter = error_text(await c.call_tool("recall", {"query": "x",
                                                             "filter": {"$nope": 1}}))
        unknown = error_text(await c.call_tool("dream", {}))
        with pytest.raises(MCPError, match="NotFound"):
            await c.read_resource("agentmem://memories/no-such-id")
    assert empty.startswith("InvalidInput: ") and "content" in empty
    assert blank.startswith("InvalidInput: ") and "content" in blank
    assert "bogus" in extra and "InvalidFilter" in bad_filter
    assert "unknown tool 'dream'" in unknown
    for text in (empty, blank, extra, bad_filter, unknown):
        assert "Traceback" not in text and 'File "' not in text
    assert pg_memory.memories(agent_id) == []


async def test_cannot_reach_another_agent(pg_memory: HybridMemory, agent_id: str) -> None:
    other = f"{agent_id}-b"
    theirs = pg_memory.remember("The launch code is 0000", other, memory_type="semantic")
    pg_memory.add_turn("s-1", other, "user", "the launch code is 0000")
    async with client(pg_memory, agent_id) as c:
        await call(c, "remember", {"content": "My own note about launch codes"})
        found = await call(c, "recall", {"query": "launch code", "k": 10})
        listed = await call(c, "list_memories", {})
        turns = await call(c, "history", {"session_id": "s-1"})
        stats = await call(c, "stats", {})
        forgot = await call(c, "forget", {"ids": [theirs.id]})
        everything = (await c.read_resource("agentmem://memories")).contents[0].text  # type: ignore[union-attr]
        with pytest.raises(MCPError, match="NotFound"):
            await c.read_resource(f"agentmem://memories/{theirs.id}")
        resources = (await c.list_resources()).resources
    assert [h["memory"]["agent_id"] for h in found["hits"]] == [agent_id]
    assert [m["agent_id"] for m in listed["memories"]] == [agent_id]
    assert turns == {"turns": []} and stats["total"] == 1 and stats["turns"] == 0
    assert forgot == {"deleted": 0}
    assert "0000" not in everything and theirs.id not in everything
    assert [str(r.uri) for r in resources] == ["agentmem://memories"]
    assert pg_memory.get(theirs.id, other).content == "The launch code is 0000"


def test_tenancy_rule() -> None:
    tenancy = Tenancy.of("a", ["b"])
    assert tenancy.agent_for(None) == "a" and tenancy.agent_for("b") == "b"
    with pytest.raises(AgentNotAllowed, match="--allow-agent 'c'"):
        tenancy.agent_for("c")
    assert RememberArgs.model_fields["content"].description
    assert RecallArgs(query="x").k == 5


def server_env(pg_url: str, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMEM_")}
    return {**clean, "PYTHONPATH": str(ROOT), "AGENTMEM_POSTGRES_URL": pg_url,
            "AGENTMEM_MODE": "pgvector", "AGENTMEM_EMBEDDINGS": f"hashing:{DIM}", **extra}


SERVE = [sys.executable, "-m", "agentmem", "serve", "mcp"]


async def test_stdio_subprocess(pg_url: str, agent_id: str, tmp_path: Path) -> None:
    params = StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], "--agent", agent_id],
                                   env=server_env(pg_url), cwd=str(tmp_path))
    async with Client(params, cache=None) as c:
        names = [t.name for t in (await c.list_tools()).tools]
        stored = await call(c, "remember", {"content": "Ann speaks Finnish"})
    async with Client(params, cache=None) as c:
        found = await call(c, "recall", {"query": "which language does Ann speak?"})
    assert names == TOOL_NAMES
    assert [h["memory"]["id"] for h in found["hits"]] == [stored["id"]]


@contextmanager
def http_server(pg_url: str, cwd: Path, *args: str, **env: str) -> Iterator[str]:
    """``serve mcp --transport http`` on a free port until it answers; its /mcp URL."""
    port = free_port()
    proc = subprocess.Popen([*SERVE, "--transport", "http", "--port", str(port), *args],
                            cwd=cwd, env=server_env(pg_url, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[1].decode()
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the MCP server never answered"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_http_refuses_to_start_off_loopback_without_a_token(pg_url: str,
                                                           tmp_path: Path) -> None:
    done = subprocess.run([*SERVE, "--agent", "a", "--transport", "http", "--host", "0.0.0.0",
                           "--port", str(free_port())], cwd=tmp_path, env=server_env(pg_url),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and done.stdout == ""
    assert "AGENTMEM_MCP_TOKEN" in done.stderr and "Traceback" not in done.stderr


def http_client(url: str, **headers: str) -> Client:
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers)),
                  cache=None)


async def test_http_token_and_allow_list(pg_url: str, agent_id: str, tmp_path: Path) -> None:
    token, other = uuid.uuid4().hex, f"{agent_id}-b"
    bearer = f"Bearer {token}"
    with http_server(pg_url, tmp_path, "--host", "0.0.0.0", "--agent", agent_id,
                     "--allow-agent", other, AGENTMEM_MCP_TOKEN=token) as url:
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        assert httpx.post(url, json=ping).status_code == 401
        assert httpx.post(url, json=ping, headers={"Authorization": "Bearer wrong"}
                          ).status_code == 401
        denied = httpx.post(url, json=ping, headers={"Authorization": bearer,
                                                     "X-AgentMem-Agent": "intruder"})
        assert denied.status_code == 403 and "intruder" in denied.json()["error"]

        async with http_client(url, Authorization=bearer, **{"X-AgentMem-Agent": other}) as c:
            await call(c, "remember", {"content": "B keeps bees"})
            as_b = await call(c, "recall", {"query": "bees"})
        async with http_client(url, Authorization=bearer) as c:
            as_a = await call(c, "recall", {"query": "bees"})
            stats_a = await call(c, "stats", {})
    assert [h["memory"]["agent_id"] for h in as_b["hits"]] == [other]
    assert as_a == {"hits": []} and stats_a["agent_id"] == agent_id
