"""Retention: how long memories of each tier live, and when their clock restarts.

Every memory has a tier, chosen from its importance unless the caller names one (the
lab's hierarchy: importance 0.9 and up permanent, 0.7 long-term, 0.4 short-term, else
working). A :class:`RetentionPolicy` turns tiers into expiry: on write, a memory with no
``expires_at`` of its own expires its tier's TTL from now (1 hour, 7 days, 365 days,
never). Retention is off unless asked for (``HybridMemory(retention=RetentionPolicy())``
or ``AGENTMEM_RETENTION=tiered``): silently expiring a user's documents after a week would
lose data they never agreed to lose. Expired memories vanish from every read at once;
``cleanup`` then deletes or archives them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from ..errors import ConfigError
from ..models import TIER_THRESHOLDS, Memory, MemoryTier, tier_for

__all__ = ["DEFAULT_TTL", "RetentionPolicy"]

DEFAULT_TTL: Mapping[MemoryTier, timedelta | None] = MappingProxyType({
    MemoryTier.WORKING: timedelta(hours=1),
    MemoryTier.SHORT_TERM: timedelta(days=7),
    MemoryTier.LONG_TERM: timedelta(days=365),
    MemoryTier.PERMANENT: None,
})


@dataclass(frozen=True)
class RetentionPolicy:
    """Tier thresholds, the TTL of each tier (None: never expires), and whether reading a
    memory (recall, get) restarts its TTL (``refresh_on_access``)."""

    thresholds: Sequence[tuple[float, MemoryTier]] = TIER_THRESHOLDS
    ttl: Mapping[MemoryTier, timedelta | None] = field(default_factory=lambda: DEFAULT_TTL)
    refresh_on_access: bool = False

    def __post_init__(self) -> None:
        floors = [floor for floor, _ in self.thresholds]
        if floors != sorted(floors, reverse=True) or not all(0.0 <= f <= 1.0 for f in floors):
            raise ConfigError(f"thresholds must be (importance in [0, 1], tier) pairs, highest "
                              f"first, got {list(self.thresholds)!r}")
        missing = set(MemoryTier) - set(self.ttl)
        if missing:
            raise ConfigError(f"ttl must give every tier a duration or None; missing "
                              f"{sorted(t.value for t in missing)}")
        if any(d is not None and d <= timedelta(0) for d in self.ttl.values()):
            raise ConfigError("every ttl must be positive (None: never expires)")

    def tier_for(self, importance: float) -> MemoryTier:
        return tier_for(importance, self.thresholds)

    def expiry(self, tier: MemoryTier, now: datetime) -> datetime | None:
        """When a memory of ``tier`` written (or read, with refresh) at ``now`` expires."""
        ttl = self.ttl[tier]
        return None if ttl is None else now + ttl

    def apply(self, memory: Memory, now: datetime) -> Memory:
        """``memory`` with the tier its importance gives (unless the caller chose one) and
        the expiry of that tier (unless it has one)."""
        given = memory.model_fields_set
        tier = memory.tier if "tier" in given and memory.tier else self.tier_for(memory.importance)
        changes: dict[str, object] = {"tier": tier}
        if memory.expires_at is None and "expires_at" not in given:
            changes["expires_at"] = self.expiry(tier, now)
        return memory.model_copy(update=changes)

    def refreshed(self, memories: Sequence[Memory], now: datetime
                  ) -> dict[datetime, list[str]]:
        """The new expiry of each read memory that expires at all, as {expiry: ids}."""
        out: dict[datetime, list[str]] = {}
        for m in memories:
            until = None if m.expires_at is None or m.tier is None else self.expiry(m.tier, now)
            if until is not None:
                out.setdefault(until, []).append(m.id)
        return out
