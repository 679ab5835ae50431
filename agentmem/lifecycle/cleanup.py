"""Cleanup: expired memories deleted (or archived) for real, with exact counts.

Expired memories are already invisible to every read; cleanup reclaims their space. It
runs on whatever the backend is: PostgreSQL deletes in batches of one statement each
(archive: moved to ``agentmem_archive`` in the same statement; hybrid: queued so Chroma
drops them too), Chroma in batches per collection (archive: copied to the agent's
archive collections first).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..backends.base import Backend, ExpiredCounts, ExpiredDeletion, Progress
from ..errors import ConfigError

__all__ = ["CleanupReport", "cleanup"]


@dataclass
class CleanupReport:
    """What cleanup removed (or, with ``dry_run``, would remove), per agent and type."""

    by_agent: dict[str, dict[str, int]] = field(default_factory=dict)
    archived: bool = False
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(n for types in self.by_agent.values() for n in types.values())

    @classmethod
    def of(cls, counts: ExpiredCounts, *, archived: bool, dry_run: bool) -> CleanupReport:
        report = cls(archived=archived, dry_run=dry_run)
        for (agent, memory_type), n in sorted(counts.items(), key=lambda kv: (kv[0][0],
                                                                             kv[0][1].value)):
            if n:
                report.by_agent.setdefault(agent, {})[memory_type.value] = n
        return report


async def cleanup(backend: Backend, agent_id: str | None = None, *, dry_run: bool = False,
                  archive: bool = False, batch_size: int = 1000,
                  progress: Progress | None = None) -> CleanupReport:
    """Delete (or archive) the expired memories of one agent, or of all.

    With ``progress``, the expired memories are counted first and removed agent by agent,
    ``progress(done, total)`` after each.
    """
    if not isinstance(backend, ExpiredDeletion):
        raise ConfigError(f"{type(backend).__name__} cannot delete expired memories")
    if dry_run:
        counts = await backend.expired_counts(agent_id)
    elif progress is None:
        counts = await backend.delete_expired(agent_id, archive=archive, batch_size=batch_size)
    else:
        expected = await backend.expired_counts(agent_id)
        total, counts = sum(expected.values()), ExpiredCounts()
        progress(0, total)
        for agent in sorted({a for a, _ in expected}):
            counts.update(await backend.delete_expired(agent, archive=archive,
                                                       batch_size=batch_size))
            done = sum(counts.values())
            progress(done, max(done, total))
    return CleanupReport.of(counts, archived=archive and not dry_run, dry_run=dry_run)
