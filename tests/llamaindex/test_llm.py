"""LlamaIndexCompletion: a LlamaIndex mock LLM driving agentmem's enricher, on real servers
(no real LLM is called)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import CompletionResponse
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.llms.mock import MockLLM
from pydantic import Field

from agentmem import CompletionError, HybridMemory, InvalidInput, Memory
from agentmem.lifecycle import HeuristicEnricher, LLMEnricher
from llamaindex_agentmem import LlamaIndexCompletion
from tests.conftest import make_memory
from tests.llamaindex.conftest import new_agent


class ScriptedLLM(MockLLM):
    """Answers completions from a script and records every prompt."""

    replies: list[str] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text=self.replies.pop(0))


@pytest.fixture
def llm() -> ScriptedLLM:
    llm = ScriptedLLM(max_tokens=None)
    llm.replies = ['{"emotion": "negative", "topic": "health", "interaction_quality": "low"}',
                   '{"emotion": "negative", "topic": "sports", "interaction_quality": "low"}']
    return llm


@pytest.fixture
def enriched(llm: ScriptedLLM, pg_url: str, chroma_url: str) -> Iterator[HybridMemory]:
    """A pgvector memory whose writes are labelled by ``llm``, the heuristic as fallback."""
    memory: HybridMemory = make_memory("pgvector", pg_url, chroma_url, enricher=LLMEnricher(
        LlamaIndexCompletion(llm), "Label this: {text}", fallback=HeuristicEnricher()))
    yield memory
    memory.close()


def test_a_llamaindex_llm_labels_writes_through_the_bridge(enriched: HybridMemory,
                                                           llm: ScriptedLLM) -> None:
    agent = new_agent()
    sick = enriched.remember("I have had a headache all week.", agent)
    assert llm.prompts == ["Label this: I have had a headache all week."]
    assert enriched.memories(agent, filter={"topic": "health"}) == [sick]
    # "sports" is no allowed topic: the fallback labels this one
    trip = enriched.remember("We booked a flight to Oslo.", agent)
    assert len(llm.prompts) == 2
    assert trip.metadata == {"emotion": "neutral", "topic": "travel",
                             "interaction_quality": "medium"}


async def test_the_bridge_is_needed_and_checks_what_it_wraps(llm: ScriptedLLM) -> None:
    first = llm.replies[0]
    assert await LlamaIndexCompletion(llm).acomplete("hi") == first
    assert llm.prompts == ["hi"]
    raw = LLMEnricher(llm)  # it has an async acomplete, but answers an object
    with pytest.raises(CompletionError, match="returned CompletionResponse, not str"):
        await raw.aenrich([Memory(content="text", agent_id=new_agent())])
    with pytest.raises(InvalidInput, match="LlamaIndex LLM"):
        LlamaIndexCompletion("gpt-4o")
