"""Operations on a store: index tuning (``optimize``); doctor checks and metrics come next."""

__all__: list[str] = []
