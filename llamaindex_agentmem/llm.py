"""Any LlamaIndex ``LLM`` as agentmem's core :class:`~agentmem.lifecycle.llm.Completion`.

    from llama_index.llms.openai import OpenAI
    enricher = LLMEnricher(LlamaIndexCompletion(OpenAI(model="gpt-4o-mini")))
"""

from __future__ import annotations

from llama_index.core.llms import LLM

from agentmem.lifecycle.llm import WrappedCompletion

__all__ = ["LlamaIndexCompletion"]


class LlamaIndexCompletion(WrappedCompletion):
    """Wraps a LlamaIndex ``LLM``: ``acomplete`` returns ``(await llm.acomplete(prompt)).text``."""

    wraps = LLM
    wraps_what = "a LlamaIndex LLM"
    model: LLM

    async def acomplete(self, prompt: str) -> str:
        """The LLM's answer to ``prompt`` as text."""
        return (await self.model.acomplete(prompt)).text
