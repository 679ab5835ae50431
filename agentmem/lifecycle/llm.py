"""The one text-completion interface every LLM-backed lifecycle piece uses.

Core never imports an LLM framework: the :class:`~agentmem.lifecycle.LLMEnricher`, the
:class:`~agentmem.lifecycle.LLMFactExtractor` (and later a consolidation summarizer) take a
:class:`Completion`, and each adapter bridges its framework's models to it::

    from langchain_agentmem import LangChainCompletion     # any chat model or Runnable
    from llamaindex_agentmem import LlamaIndexCompletion   # any LlamaIndex LLM

Any object with ``async def acomplete(self, prompt: str) -> str`` is a Completion too.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Protocol

from ..errors import CompletionError, InvalidInput

__all__ = ["Completion", "WrappedCompletion", "as_completion", "complete"]


class Completion(Protocol):
    """Text in, text out: one prompt, the model's whole answer as a string."""

    async def acomplete(self, prompt: str) -> str: ...


def as_completion(value: object, who: str) -> Completion:
    """``value`` if it has an async ``acomplete``; InvalidInput saying how to get one otherwise."""
    if not inspect.iscoroutinefunction(getattr(value, "acomplete", None)):
        raise InvalidInput(f"{who} needs a Completion (an object with async acomplete(prompt) "
                           f"-> str), got {type(value).__name__}: wrap a LangChain model in "
                           f"LangChainCompletion or a LlamaIndex LLM in LlamaIndexCompletion")
    return value  # type: ignore[return-value]


async def complete(completion: Completion, prompt: str) -> str:
    """``completion``'s answer to ``prompt``; CompletionError when the answer is not text."""
    answer: object = await completion.acomplete(prompt)
    if not isinstance(answer, str):
        raise CompletionError(f"{type(completion).__name__}.acomplete returned "
                              f"{type(answer).__name__}, not str: a framework model needs its "
                              f"bridge (LangChainCompletion, LlamaIndexCompletion)")
    return answer


class WrappedCompletion(ABC):
    """The shared base of the framework bridges: the wrapped model checked once, a repr.

    Subclasses name the framework class they wrap and implement :meth:`acomplete`.
    """

    wraps: ClassVar[type]
    """The framework class a wrapped model must be an instance of."""
    wraps_what: ClassVar[str]
    """What that class is, for the error message."""

    def __init__(self, model: Any) -> None:
        if not isinstance(model, self.wraps):
            raise InvalidInput(f"{type(self).__name__} wraps {self.wraps_what}, got "
                               f"{type(model).__name__}")
        self.model = model

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r})"

    @abstractmethod
    async def acomplete(self, prompt: str) -> str:
        """The wrapped model's answer to ``prompt`` as text."""
