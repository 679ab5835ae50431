"""Any LangChain chat model or Runnable as agentmem's core :class:`~agentmem.lifecycle.llm.Completion`.

    from langchain_openai import ChatOpenAI
    enricher = LLMEnricher(LangChainCompletion(ChatOpenAI(model="gpt-4o-mini")))
    facts = LLMFactExtractor(LangChainCompletion(ChatOpenAI(model="gpt-4o-mini")))
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable

from agentmem.errors import CompletionError
from agentmem.lifecycle.llm import WrappedCompletion

__all__ = ["LangChainCompletion"]


class LangChainCompletion(WrappedCompletion):
    """Wraps a LangChain ``Runnable`` that takes a prompt string: a chat model, an LLM, a chain.

    ``acomplete`` awaits ``ainvoke(prompt)``; a message answer gives its ``.text`` (text
    content blocks joined), a string answer is returned as it is.
    """

    wraps = Runnable
    wraps_what = "a LangChain Runnable (a chat model, an LLM or a chain)"
    model: Runnable[Any, Any]

    async def acomplete(self, prompt: str) -> str:
        """The model's answer to ``prompt`` as text."""
        answer = await self.model.ainvoke(prompt)
        if isinstance(answer, BaseMessage):
            return answer.text
        if isinstance(answer, str):
            return answer
        raise CompletionError(f"{type(self.model).__name__} answered with "
                              f"{type(answer).__name__}: LangChainCompletion needs a model or "
                              f"chain that returns a message or a string")
