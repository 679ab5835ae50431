"""The MCP server over streamable HTTP, behind a guard for the token and the allow list.

Loopback needs no token; bound to any other address the server refuses to start without
``AGENTMEM_MCP_TOKEN`` and answers 401 to a request without ``Authorization: Bearer`` that
token. A request naming an agent off the allow list gets 403 before it reaches MCP.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import AgentMemError, ConfigError
from ..memory import HybridMemory
from .server import AGENT_HEADER, Tenancy, build_server

__all__ = ["PATH", "TOKEN_ENV", "guarded_app", "is_loopback", "serve_http"]

TOKEN_ENV = "AGENTMEM_MCP_TOKEN"
PATH = "/mcp"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def required_token(host: str, token: str | None) -> str | None:
    """The token requests must carry (None: none); ConfigError when ``host`` is not
    loopback and there is no token."""
    token = token or None
    if token is None and not is_loopback(host):
        raise ConfigError(f"serving MCP on {host!r} (not loopback) needs a bearer token: set "
                          f"{TOKEN_ENV}, or bind to 127.0.0.1")
    return token


class _Guard:
    """ASGI middleware: the bearer token (when set), then the agent header's allow list."""

    def __init__(self, app: ASGIApp, token: str | None, tenancy: Tenancy) -> None:
        self.app, self.tenancy = app, tenancy
        self.token = None if token is None else token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.token is not None:
            scheme, _, given = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), self.token):
                await JSONResponse({"error": "a bearer token is required (Authorization: "
                                             "Bearer $AGENTMEM_MCP_TOKEN)"}, status_code=401,
                                   headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        try:
            self.tenancy.agent_for(headers.get(AGENT_HEADER))
        except AgentMemError as exc:
            await JSONResponse({"error": str(exc)}, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def guarded_app(memory: HybridMemory, tenancy: Tenancy, *, host: str,
                token: str | None) -> Any:
    """The ASGI app serving MCP at ``/mcp``; ConfigError when ``host`` needs a token."""
    token = required_token(host, token)
    inner = build_server(memory, tenancy).streamable_http_app(streamable_http_path=PATH,
                                                               host=host)
    return _Guard(inner, token, tenancy)


def serve_http(memory: HybridMemory, tenancy: Tenancy, *, host: str, port: int,
               token: str | None) -> None:
    """Serve MCP over streamable HTTP at ``http://host:port/mcp`` (blocks)."""
    import uvicorn

    uvicorn.run(guarded_app(memory, tenancy, host=host, token=token), host=host, port=port,
                log_level="warning")
