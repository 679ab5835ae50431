"""Fact extraction in core: (role, text) pairs in, short texts out; no framework involved."""

from __future__ import annotations

import pytest

from agentmem import InvalidInput
from agentmem.lifecycle import EXTRACT_FACTS_PROMPT, HeuristicFactExtractor, LLMFactExtractor
from agentmem.lifecycle.facts import parse_lines, transcript


class Recording:
    """A Completion that answers one text and records the prompts it was given."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    async def acomplete(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.answer


def test_heuristic_extractor_reads_user_turns_only() -> None:
    turns = [("user", "I live in Lisbon. Can you book a table?"),
             ("assistant", "I am an assistant and my name is Bot."),
             ("user", "Please remember that the wifi password is hunter2."),
             ("user", "I live in Lisbon.")]
    assert HeuristicFactExtractor()(turns) == ["The user said: I live in Lisbon.",
                                               "The user said: the wifi password is hunter2."]


def test_transcript_and_parse_lines() -> None:
    assert transcript([("user", "hi"), ("assistant", "  "), ("assistant", "hello")]) == \
        "user: hi\nassistant: hello"
    assert parse_lines('- "A."\n2) B.\n\nnone.\n* A.\n\u2022 C') == ["A.", "B.", "C"]


async def test_llm_extractor_fills_the_prompt_and_skips_empty_conversations() -> None:
    llm = Recording("1. The user lives in Porto.\nNONE")
    extract = LLMFactExtractor(llm)
    assert await extract([("user", "I moved to Porto."), ("assistant", "Welcome!")]) == [
        "The user lives in Porto."]
    assert llm.prompts == [EXTRACT_FACTS_PROMPT.replace(
        "{conversation}", "user: I moved to Porto.\nassistant: Welcome!")]
    assert await extract([("assistant", "")]) == [] and len(llm.prompts) == 1
    with pytest.raises(InvalidInput, match="placeholder"):
        LLMFactExtractor(llm, prompt="no placeholder")
    with pytest.raises(InvalidInput, match="Completion"):
        LLMFactExtractor("gpt-4o")  # type: ignore[arg-type]
