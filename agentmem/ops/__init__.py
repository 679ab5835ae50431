"""Operations on a store: index tuning (``optimize``), metrics and their exposition
(``metrics``, ``exposition``) and what ``agentmem monitor`` reads (``monitor``)."""

__all__: list[str] = []
