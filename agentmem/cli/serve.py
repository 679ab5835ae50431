"""``agentmem serve mcp``: agentmem as a Model Context Protocol server.

Over stdio (the default) stdout carries the protocol and nothing else: errors and logs go
to stderr. Over HTTP the server listens on ``--host`` (127.0.0.1 unless told otherwise).
"""

from __future__ import annotations

import os
from enum import Enum

import typer

from ..errors import AgentMemError
from ._app import app, fail, open_memory

__all__: list[str] = []

ALLOW_ENV = "AGENTMEM_MCP_ALLOW_AGENTS"

serve_app = typer.Typer(help="Serve agentmem to other programs.", no_args_is_help=True)
app.add_typer(serve_app, name="serve")


class Transport(str, Enum):
    stdio = "stdio"
    http = "http"


_TRANSPORT_OPT = typer.Option(Transport.stdio, "--transport", help=(
    "stdio: a subprocess of the MCP client; http: streamable HTTP at /mcp."))

_ALLOW_OPT = typer.Option(None, "--allow-agent", help=(
    "HTTP only, repeatable: another agent a request may name in the X-AgentMem-Agent "
    f"header (also {ALLOW_ENV}, comma-separated)."))


def _allowed(given: list[str] | None) -> list[str]:
    """The agents named by ``--allow-agent`` and by ``AGENTMEM_MCP_ALLOW_AGENTS`` (commas)."""
    extra = [a.strip() for a in os.environ.get(ALLOW_ENV, "").split(",") if a.strip()]
    return [*(given or []), *extra]


@serve_app.command("mcp")
def serve_mcp(
    agent_id: str = typer.Option(..., "--agent", help=(
        "The agent whose memories are served (the default for every request).")),
    transport: Transport = _TRANSPORT_OPT,
    host: str = typer.Option("127.0.0.1", "--host", help=(
        "HTTP only. Any address but loopback needs AGENTMEM_MCP_TOKEN.")),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="HTTP only."),
    allow_agent: list[str] | None = _ALLOW_OPT,
) -> None:
    """Serve the memory tools (remember, recall, forget, list_memories, history, stats) and
    the agent's memories as resources over MCP."""
    try:
        from ..mcp import TOKEN_ENV, Tenancy, serve_http, serve_stdio
        from ..mcp.web import required_token

        tenancy = Tenancy.of(agent_id, _allowed(allow_agent) if transport is Transport.http
                             else ())
        token = os.environ.get(TOKEN_ENV)
        if transport is Transport.http:
            required_token(host, token)  # refuse before opening anything
    except ImportError as exc:
        raise fail(ImportError(f"the MCP server needs the mcp extra: pip install "
                               f"'agentmem-hybrid[mcp]' ({exc})")) from exc
    except AgentMemError as exc:
        raise fail(exc) from exc
    with open_memory() as memory:
        memory.stats(tenancy.default)  # reach the store now: a bad URL fails here, not per call
        if transport is Transport.stdio:
            serve_stdio(memory, tenancy)
        else:
            serve_http(memory, tenancy, host=host, port=port, token=token)
