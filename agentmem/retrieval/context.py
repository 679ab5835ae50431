"""Contextual indexing: each memory of a session is keyword-indexed with its predecessors.

A turn like "Yes, every Sunday!" says little on its own; with the question before it, it
can be found by the words of that question. So the lexical index of a memory with a
``session_id`` holds its own text after the texts of the ``context_turns`` memories of
the same agent, session and type written just before it (by ``created_at``). Its content
and its embedding are its own. The context is taken when the memory is written: a
predecessor written or changed later does not re-index its successors.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..backends.base import Backend, SessionWindow
from ..models import Memory

__all__ = ["lexical_texts"]


async def lexical_texts(backend: Backend, memories: Sequence[Memory],
                        turns: int) -> list[str] | None:
    """The text to index for keyword search of each memory; None when that is its content."""
    if turns < 1 or not isinstance(backend, SessionWindow):
        return None
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, m in enumerate(memories):
        if m.session_id is not None:
            groups.setdefault((m.agent_id, m.session_id, m.memory_type.value), []).append(i)
    if not groups:
        return None
    texts = [m.content for m in memories]
    for (agent_id, session_id, _), members in groups.items():
        batch = {memories[i].id: memories[i] for i in members}  # the last copy of an id wins
        stored = await backend.preceding(agent_id, session_id, memories[members[0]].memory_type,
                                         before=[m.created_at for m in batch.values()], n=turns)
        timeline = sorted([*(m for m in stored if m.id not in batch), *batch.values()],
                          key=lambda m: (m.created_at, m.id))
        position = {m.id: p for p, m in enumerate(timeline)}
        for i in members:
            p = position[memories[i].id]
            texts[i] = "\n".join([*(m.content for m in timeline[max(0, p - turns):p]),
                                  memories[i].content])
    return texts
