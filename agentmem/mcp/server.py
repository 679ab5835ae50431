"""The MCP server: agentmem's tools and an agent's memories as resources.

Tenancy is explicit. A server is bound to one default agent and, over HTTP, to an allow
list: each request may name its agent in the ``X-AgentMem-Agent`` header, which must be
on the list; without it the request works for the default agent. Every tool and resource
runs for that one agent, so another agent's memories are never read, listed or deleted.
Failures come back as tool errors (``isError``) carrying the agentmem message; nothing
sends a stack trace to the client (unexpected ones are logged on stderr).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from .. import __version__
from ..errors import AgentMemError, InvalidInput
from ..memory import HybridMemory
from ..models import as_agent_id
from ..tools import TOOLS, ListArgs, MemoryTool, get_memory, list_memories, parse_args

__all__ = ["AGENT_HEADER", "LIST_URI", "MEMORY_URI", "AgentNotAllowed", "Tenancy",
           "build_server", "serve_stdio"]

log = logging.getLogger(__name__)

AGENT_HEADER = "x-agentmem-agent"
LIST_URI = "agentmem://memories"
MEMORY_URI = "agentmem://memories/{id}"
_LIST_LIMIT = 100


class AgentNotAllowed(InvalidInput):
    """A request named an agent this server does not serve."""


@dataclass(frozen=True)
class Tenancy:
    """Which agents a server works for: ``default`` and the ``allowed`` ones (a superset)."""

    default: str
    allowed: frozenset[str]

    @classmethod
    def of(cls, agent_id: str, allowed: Iterable[str] = ()) -> Tenancy:
        """The tenancy of a server bound to ``agent_id`` that also serves ``allowed``."""
        default = as_agent_id(agent_id)
        return cls(default, frozenset({default, *(as_agent_id(a) for a in allowed)}))

    def agent_for(self, named: str | None) -> str:
        """The agent a request works for, given the agent it named (None: the default)."""
        if named is None:
            return self.default
        if named not in self.allowed:
            raise AgentNotAllowed(f"agent {named!r} is not served here; start the server with "
                                  f"--allow-agent {named!r} to serve it")
        return named

    def agent_of(self, ctx: ServerRequestContext[Any, Any]) -> str:
        """The agent of one MCP request (the header over HTTP; the default on stdio)."""
        headers = getattr(ctx.request, "headers", None)
        return self.agent_for(None if headers is None else headers.get(AGENT_HEADER))


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


def _tool_error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)],
                                is_error=True)


def _tool_spec(tool: MemoryTool) -> types.Tool:
    return types.Tool(name=tool.name, description=tool.description,
                      input_schema=tool.args.model_json_schema(),
                      annotations=types.ToolAnnotations(
                          read_only_hint=tool.read_only,
                          destructive_hint=tool.name == "forget"))


def build_server(memory: HybridMemory, tenancy: Tenancy) -> Server[Any]:
    """A low-level MCP server over ``memory`` for the agents of ``tenancy``.

    ``memory`` is borrowed: the caller opens and closes it.
    """
    tools = {t.name: t for t in TOOLS}
    specs = [_tool_spec(t) for t in TOOLS]

    async def on_list_tools(ctx: ServerRequestContext[Any, Any],
                            params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=specs)

    async def on_call_tool(ctx: ServerRequestContext[Any, Any],
                           params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = tools.get(params.name)
        if tool is None:
            return _tool_error(f"unknown tool {params.name!r}; the tools are {sorted(tools)}")
        try:
            agent = tenancy.agent_of(ctx)
            result = await tool.run(memory, agent, parse_args(tool, params.arguments))
        except AgentMemError as exc:
            return _tool_error(f"{type(exc).__name__}: {exc}")
        except Exception:  # the client gets the kind of failure; the trace stays in the log
            log.exception("tool %r failed unexpectedly", params.name)
            return _tool_error(f"internal error in {params.name!r}; see the server's log")
        return types.CallToolResult(content=[types.TextContent(type="text", text=_json(result))],
                                    structured_content=result)

    async def on_list_resources(ctx: ServerRequestContext[Any, Any],
                                params: types.PaginatedRequestParams | None
                                ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[types.Resource(
            uri=LIST_URI, name="memories", mime_type="application/json",
            description=f"The agent's memories, oldest first (the first {_LIST_LIMIT}).")])

    async def on_list_templates(ctx: ServerRequestContext[Any, Any],
                                params: types.PaginatedRequestParams | None
                                ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=[types.ResourceTemplate(
            uri_template=MEMORY_URI, name="memory", mime_type="application/json",
            description="One of the agent's memories, by id.")])

    async def on_read_resource(ctx: ServerRequestContext[Any, Any],
                               params: types.ReadResourceRequestParams
                               ) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            agent = tenancy.agent_of(ctx)
            if uri == LIST_URI:
                body = await list_memories(memory, agent, ListArgs(limit=_LIST_LIMIT))
            elif uri.startswith(LIST_URI + "/"):
                body = await get_memory(memory, agent, uri[len(LIST_URI) + 1:])
            else:
                raise InvalidInput(f"unknown resource {uri!r}: read {LIST_URI} or {MEMORY_URI}")
        except AgentMemError as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=f"{type(exc).__name__}: {exc}",
                           data={"uri": uri}) from exc
        return types.ReadResourceResult(contents=[types.TextResourceContents(
            uri=uri, text=_json(body), mime_type="application/json")])

    return Server("agentmem", version=__version__,
                  instructions="Long-term memory: remember facts, events and procedures, "
                               "recall them later by meaning.",
                  get_tool_input_schema=lambda name: (
                      tools[name].args.model_json_schema() if name in tools else None),
                  on_list_tools=on_list_tools, on_call_tool=on_call_tool,
                  on_list_resources=on_list_resources,
                  on_list_resource_templates=on_list_templates,
                  on_read_resource=on_read_resource)


def serve_stdio(memory: HybridMemory, tenancy: Tenancy) -> None:
    """Serve MCP on stdin/stdout until the client closes them (blocks)."""
    server = build_server(memory, tenancy)

    async def run() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(run)
