"""The links half of :class:`~agentmem.HybridMemory`: typed relations between memories."""

from __future__ import annotations

from . import _validate as check
from ._part import FacadePart
from ._twins import on_loop, sync_twin
from .backends.base import Direction, LinkStore
from .errors import ConfigError, InvalidInput
from .models import MemoryLink, RelatedMemory, as_agent_id, as_name, as_relation

__all__ = ["MemoryLinks"]


class MemoryLinks(FacadePart):
    """Links between one agent's memories (stored in PostgreSQL), and walks along them."""

    # -- links ----------------------------------------------------------------------

    def _link_store(self) -> LinkStore:
        if not isinstance(self.backend, LinkStore):
            raise ConfigError(f"links between memories are stored in PostgreSQL: use pgvector "
                              f"or hybrid mode (this memory is in {self.mode} mode)")
        return self.backend

    @on_loop
    async def alink(self, source_id: str, target_id: str, agent_id: str, *,
                    relation: str = "related_to") -> MemoryLink:
        """Record that ``source_id`` relates to ``target_id`` (idempotent); returns the link.

        Both must be memories of ``agent_id`` (NotFound otherwise); deleting either one
        removes the link.
        """
        agent = as_agent_id(agent_id)
        link = check.build(MemoryLink, source_id=source_id, target_id=target_id,
                           relation=as_relation(relation))
        if link.source_id == link.target_id:
            raise InvalidInput(f"a memory cannot be linked to itself ({source_id!r})")
        store = self._link_store()
        await self._ensure_ready()
        try:
            await store.link(agent, [link])
        finally:
            self._changed(agent)  # recall(expand_related=True) follows links
        return link

    link = sync_twin(alink)

    @on_loop
    async def aunlink(self, source_id: str, target_id: str, agent_id: str, *,
                      relation: str | None = None) -> int:
        """Remove the links source → target (one relation, or all); returns how many."""
        agent = as_agent_id(agent_id)
        source_id, target_id = as_name(source_id, "source_id"), as_name(target_id, "target_id")
        store = self._link_store()
        await self._ensure_ready()
        try:
            return await store.unlink(agent, source_id, target_id,
                                      None if relation is None else as_relation(relation))
        finally:
            self._changed(agent)

    unlink = sync_twin(aunlink)

    @on_loop
    async def alinks(self, id: str, agent_id: str) -> list[MemoryLink]:
        """Every link from or to memory ``id``, oldest first."""
        agent, id = as_agent_id(agent_id), as_name(id, "id")
        store = self._link_store()
        await self._ensure_ready()
        return await store.links(agent, [id])

    links = sync_twin(alinks)

    @on_loop
    async def arelated(self, id: str, agent_id: str, *, relation: str | None = None,
                       depth: int = 1, direction: Direction = "both") -> list[RelatedMemory]:
        """Memories within ``depth`` links of ``id``, nearest first, each once.

        ``direction``: ``out`` follows links from source to target only (a consolidated
        memory to its sources), ``in`` only backwards, ``both`` either way.
        """
        agent, id = as_agent_id(agent_id), as_name(id, "id")
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 10:
            raise InvalidInput(f"depth must be an int in 1..10, got {depth!r}")
        if direction not in ("out", "in", "both"):
            raise InvalidInput(f"direction must be 'out', 'in' or 'both', got {direction!r}")
        store = self._link_store()
        await self._ensure_ready()
        return await store.related(agent, [id], depth=depth, direction=direction,
                                   relation=None if relation is None else as_relation(relation))

    related = sync_twin(arelated)
