"""Fact extraction: durable facts (or procedures) from a conversation, as short texts.

Framework-free: a conversation is a sequence of ``(role, text)`` pairs (for agentmem's
own history, ``[(t.role, t.content) for t in memory.history(agent_id, session_id)]``).
Store what an extractor returns as semantic (or procedural) memories::

    facts = await LLMFactExtractor(completion)(turns)
    await memory.aremember_many([Memory(content=f, agent_id=agent, memory_type="semantic")
                                 for f in facts])

:class:`HeuristicFactExtractor` needs no LLM; :class:`LLMFactExtractor` asks one through
the core :class:`~agentmem.lifecycle.llm.Completion`. The LlamaIndex memory blocks use both.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from ..errors import InvalidInput
from .llm import Completion, as_completion, complete

__all__ = [
    "EXTRACT_FACTS_PROMPT",
    "EXTRACT_PROCEDURES_PROMPT",
    "FactExtractor",
    "HeuristicFactExtractor",
    "LLMFactExtractor",
    "Turns",
    "parse_lines",
    "transcript",
]

Turns = Sequence[tuple[str, str]]
"""A conversation as ``(role, text)`` pairs, oldest first (roles: user, assistant, ...)."""

FactExtractor = Callable[[Turns], list[str] | Awaitable[list[str]]]
"""Turns a conversation into short texts to store: sync or async, returns a list."""

EXTRACT_FACTS_PROMPT = """\
Below is part of a conversation between a user and an assistant. List the durable facts \
it reveals about the user and their world: identity, preferences, circumstances, plans, \
constraints. Write one fact per line as a short, self-contained sentence in the third \
person (for example: The user lives in Lisbon.). Only list what the conversation states; \
do not guess, do not repeat a fact, do not add commentary. If there are no facts, reply \
with NONE.

Conversation:
{conversation}
"""

EXTRACT_PROCEDURES_PROMPT = """\
Below is part of a conversation between a user and an assistant. List the instructions \
it contains on how the assistant should do things: steps of a task, rules, formats, \
tools to use. Write one instruction per line as a short, self-contained imperative \
sentence. Only list what the conversation states. If there are none, reply with NONE.

Conversation:
{conversation}
"""

_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine|myself|we|we're|our|ours|us)\b",
                           re.IGNORECASE)
_REMEMBER = re.compile(r"^(?:please\s+)?(?:remember|note|keep in mind)\s*(?:that\s*)?[:,]?\s*",
                       re.IGNORECASE)
_REQUEST = re.compile(r"^(?:can|could|would|will|do|does|did|should|shall|may|is|are)\s+"
                      r"|^(?:please|tell|show|give|help|explain|write|find|let's|let us)\b"
                      r"|\b(?:you to|for you)\b|^(?:hi|hello|hey|thanks|thank you|ok|okay)\b",
                      re.IGNORECASE)


def transcript(turns: Turns) -> str:
    """``role: text`` lines for the turns that have text."""
    return "\n".join(f"{role}: {text}" for role, text in turns if text.strip())


def parse_lines(text: str) -> list[str]:
    """One item per non-empty line, bullets and numbering removed, ``NONE`` ignored."""
    out = []
    for line in text.splitlines():
        item = _BULLET.sub("", line).strip().strip('"').strip()
        if item and item.upper().rstrip(".") != "NONE":
            out.append(item)
    return list(dict.fromkeys(out))


class HeuristicFactExtractor:
    """The no-LLM default: keep the user's own statements that look like facts.

    From **user** turns only, each sentence is kept when it

    - is declarative (does not end with ``?``) and has 3 to 40 words;
    - is in the first person (``I``, ``I'm``, ``my``, ``me``, ``we``, ``our``, ...) or
      starts with ``remember that`` / ``note that`` / ``keep in mind that``;
    - is not a request or small talk: it does not start with ``can / could / would /
      please / tell / show / help ...`` or a greeting, and does not contain ``you to``.

    A ``remember that`` prefix is dropped, and each kept sentence is stored as
    ``The user said: <sentence>`` so that it reads unambiguously inside a system prompt.
    Precision over recall: "I live in Lisbon." and "My daughter is allergic to nuts." are
    kept; "Can you book a table?", "Thanks!" and "Write me a poem." are not. Use an
    :class:`LLMFactExtractor` for anything subtler.
    """

    prefix = "The user said: "

    def __call__(self, turns: Turns) -> list[str]:
        facts: list[str] = []
        for role, text in turns:
            if role != "user":
                continue
            for match in _SENTENCE.finditer(text):
                sentence = " ".join(match.group().split())
                if self._keep(sentence):
                    facts.append(self.prefix + _REMEMBER.sub("", sentence))
        return list(dict.fromkeys(facts))

    @staticmethod
    def _keep(sentence: str) -> bool:
        if not sentence or sentence.endswith("?"):
            return False
        asked_to_remember = bool(_REMEMBER.match(sentence))
        body = _REMEMBER.sub("", sentence)
        if not 3 <= len(body.split()) <= 40:
            return False
        if not asked_to_remember and _REQUEST.search(body):
            return False
        return asked_to_remember or bool(_FIRST_PERSON.search(body))


class LLMFactExtractor:
    """Asks an LLM to list facts (or, with another prompt, procedures), one per line.

    ``prompt`` has one ``{conversation}`` placeholder, filled with ``role: text`` lines.
    The answer is split into lines; bullets, numbering and ``NONE`` are dropped. A
    conversation with no text costs no call.
    """

    def __init__(self, completion: Completion, prompt: str = EXTRACT_FACTS_PROMPT) -> None:
        if "{conversation}" not in prompt:
            raise InvalidInput("the extraction prompt needs a {conversation} placeholder")
        self.completion = as_completion(completion, "LLMFactExtractor")
        self.prompt = prompt

    async def __call__(self, turns: Turns) -> list[str]:
        conversation = transcript(turns)
        if not conversation:
            return []
        answer = await complete(self.completion, self.prompt.replace("{conversation}",
                                                                     conversation))
        return parse_lines(answer)
