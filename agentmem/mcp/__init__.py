"""agentmem as a Model Context Protocol server (``pip install 'agentmem-hybrid[mcp]'``).

:func:`build_server` serves the tools of :data:`agentmem.tools.TOOLS` and the agent's
memories as resources, for the agents a :class:`Tenancy` allows; :func:`serve_stdio` and
:func:`serve_http` run it (``agentmem serve mcp``).
"""

from __future__ import annotations

from .server import AGENT_HEADER, AgentNotAllowed, Tenancy, build_server, serve_stdio
from .web import TOKEN_ENV, guarded_app, is_loopback, serve_http

__all__ = ["AGENT_HEADER", "TOKEN_ENV", "AgentNotAllowed", "Tenancy", "build_server",
           "guarded_app", "is_loopback", "serve_http", "serve_stdio"]
