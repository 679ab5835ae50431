"""What a recall weighs, in one place: the defaults a user gets, each one adjustable.

The defaults are the values measured best on LoCoMo's dev split (the README's benchmark
gives each signal's contribution); round values, so as not to fit one split.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..errors import ConfigError

__all__ = ["RetrievalConfig"]


@dataclass(frozen=True)
class RetrievalConfig:
    """The signals of a ranked (fused) recall and of the lexical index.

    - ``lexical_weight``: the BM25 share of the fused score (``recall(lexical_weight=)``
      overrides it per call).
    - ``context_turns``: how many preceding memories of the same session (and type) are
      indexed for keyword search with each memory written; 0 indexes a memory's own words.
    - ``neighbour_weight``: pull of the best adjacent candidate of the same session.
    - ``session_weight``: pull of the best candidate of the same session.
    - ``recency_weight`` / ``recency_half_life``: share of ``0.5 ** (age / half_life)``.
    - ``importance_weight``: share of the memory's ``importance``.
    """

    lexical_weight: float = 0.5
    context_turns: int = 2
    neighbour_weight: float = 0.3
    session_weight: float = 0.3
    recency_weight: float = 0.0
    recency_half_life: timedelta = timedelta(days=30)
    importance_weight: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.lexical_weight <= 1.0:
            raise ConfigError(f"lexical_weight must be in [0, 1], got {self.lexical_weight!r}")
        for name in ("neighbour_weight", "session_weight", "recency_weight", "importance_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value!r}")
        if not isinstance(self.context_turns, int) or not 0 <= self.context_turns <= 16:
            raise ConfigError(f"context_turns must be an int in [0, 16], got {self.context_turns!r}")
        if self.recency_half_life <= timedelta(0):
            raise ConfigError("recency_half_life must be positive")

    @property
    def rescored(self) -> bool:
        """Whether fused candidates are re-scored after fusion at all."""
        return any((self.neighbour_weight, self.session_weight, self.recency_weight,
                    self.importance_weight))
