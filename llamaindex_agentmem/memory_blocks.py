"""Long-term memory blocks for LlamaIndex's ``Memory``, backed by agentmem.

``llama_index.core.memory.Memory`` keeps a short-term queue of messages; when the queue
outgrows ``token_limit * chat_history_token_ratio`` the oldest messages are flushed into
every memory block (``aput``), and every ``get`` asks each block for text to inject
(``aget``, with the current messages and the memory's ``session_id``). These blocks keep
what they are given in a :class:`~agentmem.HybridMemory`, scoped to one agent, so it
outlives the process and is shared by every session of that agent:

- :class:`EpisodicMemoryBlock`: flushed user / assistant messages become episodic
  memories (one per message); ``aget`` recalls the ones closest to the recent messages.
- :class:`SemanticMemoryBlock`: facts. ``aput`` runs a fact extractor over the flushed
  messages and stores each fact once (the id is derived from the text); ``aget`` recalls
  the facts closest to the recent messages. The extractor is an
  :class:`LLMFactExtractor` when ``llm=`` is given, :class:`HeuristicFactExtractor`
  otherwise, or any ``extractor=`` callable. Both are the framework-free extractors of
  :mod:`agentmem.lifecycle.facts` applied to the messages' ``(role, text)`` pairs.
- :class:`ProceduralMemoryBlock`: instructions and how-tos, injected when relevant.
  ``aput`` stores nothing unless an ``extractor`` (or ``llm``) is configured; add
  procedures with ``memory.remember(text, agent_id, memory_type="procedural")``.

Token budgets: ``Memory`` passes none to ``aget``; when memory blocks and chat history
together exceed ``token_limit`` it calls ``atruncate(content, tokens_to_truncate)`` on
blocks with a non-zero ``priority``, smallest priority first. These blocks then drop
their least relevant memories first. ``max_tokens`` caps a block on its own. Default
priorities: episodic 1 (truncated first), semantic 2, procedural 3; 0 means never
truncated.

Example:
    .. code-block:: python

        from llama_index.core.memory import Memory
        memory = Memory.from_defaults(session_id="s-1", token_limit=4000, memory_blocks=[
            SemanticMemoryBlock(memory=store, agent_id="bot", llm=llm),
            EpisodicMemoryBlock(memory=store, agent_id="bot"),
            ProceduralMemoryBlock(memory=store, agent_id="bot"),
        ])
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock
from llama_index.core.llms import LLM
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.core.utils import get_tokenizer
from pydantic import Field

from agentmem import HybridMemory, MemoryHit, MemoryType
from agentmem import Memory as StoredMemory
from agentmem._validate import build, fit_query
from agentmem.lifecycle import facts
from agentmem.lifecycle.facts import EXTRACT_FACTS_PROMPT, EXTRACT_PROCEDURES_PROMPT, Turns
from agentmem.models import AgentId

from .llm import LlamaIndexCompletion

__all__ = [
    "EXTRACT_FACTS_PROMPT",
    "EXTRACT_PROCEDURES_PROMPT",
    "EpisodicMemoryBlock",
    "FactExtractor",
    "HeuristicFactExtractor",
    "LLMFactExtractor",
    "ProceduralMemoryBlock",
    "SemanticMemoryBlock",
]

FactExtractor = Callable[[Sequence[ChatMessage]], list[str] | Awaitable[list[str]]]
"""Turns flushed messages into short texts to store: sync or async, returns a list."""


def message_text(message: ChatMessage) -> str:
    """The text of a message: its non-blank text blocks, one per line."""
    return "\n".join(b.text for b in message.blocks if isinstance(b, TextBlock) and b.text.strip())


def _role(message: ChatMessage) -> str:
    return MessageRole(message.role).value


def as_turns(messages: Sequence[ChatMessage]) -> Turns:
    """Messages as the ``(role, text)`` pairs of :mod:`agentmem.lifecycle.facts`."""
    return [(_role(m), message_text(m)) for m in messages]


class HeuristicFactExtractor:
    """:class:`agentmem.lifecycle.HeuristicFactExtractor` over LlamaIndex messages."""

    def __init__(self) -> None:
        self.extractor = facts.HeuristicFactExtractor()

    def __call__(self, messages: Sequence[ChatMessage]) -> list[str]:
        return self.extractor(as_turns(messages))


class LLMFactExtractor:
    """:class:`agentmem.lifecycle.LLMFactExtractor` over a LlamaIndex ``LLM`` and messages.

    ``prompt`` has one ``{conversation}`` placeholder, filled with ``role: text`` lines.
    """

    def __init__(self, llm: LLM, prompt: str = EXTRACT_FACTS_PROMPT) -> None:
        self.extractor = facts.LLMFactExtractor(LlamaIndexCompletion(llm), prompt)

    async def __call__(self, messages: Sequence[ChatMessage]) -> list[str]:
        return await self.extractor(as_turns(messages))


def _indent(text: str) -> str:
    """A memory's text as one item: continuation lines indented under the ``- `` bullet."""
    return "\n  ".join(line for line in text.strip().splitlines() if line.strip())


class _AgentMemBlock(BaseMemoryBlock[str]):
    """Shared recall, formatting and token budgeting of the agentmem blocks."""

    memory_type: ClassVar[MemoryType]

    memory: HybridMemory = Field(exclude=True, description="The agentmem store.")
    agent_id: AgentId = Field(description="The agent whose memories are read and written.")
    k: int = Field(default=5, ge=1, le=100, description="How many memories to inject at most.")
    user_id: str | None = Field(
        default=None, description="When set, written memories carry it and recall only "
        "returns this user's memories.")
    filter: dict[str, Any] | None = Field(
        default=None, description="An agentmem filter every recall must also match.")
    scope_to_session: bool = Field(
        default=False, description="Recall only memories written in the current session "
        "(off by default: long-term memory spans sessions).")
    min_score: float | None = Field(
        default=None, description="Drop recalled memories less similar than this.")
    retrieval_context_window: int = Field(
        default=3, ge=1, description="How many of the latest messages form the query.")
    max_tokens: int | None = Field(
        default=None, ge=1, description="A token budget of this block's own.")
    importance: float = Field(default=0.5, ge=0.0, le=1.0,
                              description="Importance of the memories this block writes.")
    tokenizer_fn: Callable[[str], list[Any]] = Field(default_factory=get_tokenizer, exclude=True)

    # -- reading ----------------------------------------------------------------------------

    def _query(self, messages: Sequence[ChatMessage] | None) -> str:
        recent = [m for m in (messages or []) if _role(m) != MessageRole.SYSTEM.value]
        # The latest words count most; a long paste must not make every recall fail.
        return fit_query("\n".join(t for m in recent[-self.retrieval_context_window:]
                                   if (t := message_text(m))))

    def _filter(self, session_id: Any) -> dict[str, Any] | None:
        clauses: list[Mapping[str, Any]] = []
        if self.filter:
            clauses.append(self.filter)
        if self.user_id is not None:
            clauses.append({"user_id": self.user_id})
        if self.scope_to_session and isinstance(session_id, str):
            clauses.append({"session_id": session_id})
        if not clauses:
            return None
        return dict(clauses[0]) if len(clauses) == 1 else {"$and": clauses}

    def format_hit(self, hit: MemoryHit) -> str:
        """How one memory reads in the prompt (a bullet is added around it)."""
        return hit.memory.content

    async def _aget(self, messages: list[ChatMessage] | None = None, **block_kwargs: Any) -> str:
        query = self._query(messages)
        if not query.strip():
            return ""
        # dense: min_score is a cosine similarity
        hits = await self.memory.arecall(query, self.agent_id, memory_types=self.memory_type,
                                         k=self.k, filter=self._filter(block_kwargs.get("session_id")),
                                         lexical_weight=0)
        if self.min_score is not None:
            hits = [h for h in hits if h.score >= self.min_score]
        items = [f"- {_indent(self.format_hit(h))}" for h in hits]
        return self._fit(items, self.max_tokens)

    # -- token budgets ----------------------------------------------------------------------

    def _tokens(self, text: str) -> int:
        return len(self.tokenizer_fn(text))

    def _clip(self, text: str, budget: int) -> str:
        """The longest word prefix of ``text`` within ``budget`` tokens."""
        words = text.split(" ")
        lo, hi = 0, len(words)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._tokens(" ".join(words[:mid])) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[:lo]).rstrip()

    def _fit(self, items: list[str], budget: int | None) -> str:
        """Items (best first) joined by newlines, dropping the last ones to fit ``budget``."""
        text = "\n".join(items)
        if budget is None or self._tokens(text) <= budget:
            return text
        while items and self._tokens("\n".join(items)) > budget:
            items = items[:-1]
        if items:
            return "\n".join(items)
        return self._clip(text.split("\n- ")[0], budget) if budget > 0 else ""

    async def atruncate(self, content: str, tokens_to_truncate: int) -> str | None:
        """Drop the least relevant memories until ``tokens_to_truncate`` tokens are saved."""
        if not isinstance(content, str) or not content:
            return None
        budget = self._tokens(content) - max(tokens_to_truncate, 0)
        if budget <= 0:
            return None
        items = re.split(r"\n(?=- )", content)
        return self._fit(items, budget) or None

    # -- writing ----------------------------------------------------------------------------

    @staticmethod
    def _session_of(messages: Sequence[ChatMessage]) -> str | None:
        for m in messages:
            sid = m.additional_kwargs.get("session_id")
            if isinstance(sid, str) and sid.strip():
                return sid
        return None

    def _new(self, content: str, session_id: str | None, *, id: str | None = None,
             metadata: Mapping[str, Any] | None = None) -> StoredMemory:
        fields: dict[str, Any] = {"metadata": {"source": "llamaindex", **(metadata or {})}}
        if id is not None:
            fields["id"] = id
        # build: bad text is InvalidInput, as through every other class
        return build(StoredMemory, content=content, agent_id=self.agent_id,
                     memory_type=self.memory_type, importance=self.importance,
                     user_id=self.user_id, session_id=session_id, **fields)


class _ExtractingBlock(_AgentMemBlock):
    """A block whose ``aput`` stores what an extractor finds in the flushed messages."""

    extractor: Callable[..., Any] | None = Field(
        default=None, exclude=True, description="A FactExtractor: messages -> list of texts.")
    llm: LLM | None = Field(default=None, exclude=True,
                            description="Extract with this LLM when no extractor is given.")

    def _extractor(self) -> FactExtractor | None:
        return self.extractor

    def _id(self, text: str) -> str:
        """One id per (agent, user, type, text): storing the same text again is an upsert."""
        key = "\x1f".join((self.agent_id, self.user_id or "", self.memory_type.value,
                           " ".join(text.lower().split())))
        return f"li-{self.memory_type.value}-{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    async def _aput(self, messages: list[ChatMessage]) -> None:
        extractor = self._extractor()
        if extractor is None or not messages:
            return
        found = extractor(messages)
        texts = await found if inspect.isawaitable(found) else found
        session_id = self._session_of(messages)
        items = [t.strip() for t in texts if isinstance(t, str) and t.strip()]
        memories = {self._id(t): self._new(t, session_id, id=self._id(t)) for t in items}
        if memories:
            await self.memory.aremember_many(list(memories.values()))


class EpisodicMemoryBlock(_AgentMemBlock):
    """What happened: flushed conversation messages, recalled by similarity.

    Each flushed message with text whose role is in ``roles`` (user and assistant by
    default) becomes one episodic memory ``"<role>: <text>"``, with the session id and
    ``metadata={"source": "llamaindex", "role": ...}``. ``aget`` returns the ``k``
    closest to the latest messages, each prefixed with the date it was stored (flushed).
    """

    memory_type: ClassVar[MemoryType] = MemoryType.EPISODIC

    name: str = Field(default="EpisodicMemory", description="The name of the memory block.")
    priority: int = Field(default=1, description="Truncation order (0 = never truncate).")
    roles: list[str] = Field(default_factory=lambda: ["user", "assistant"],
                             description="Roles of the messages stored as episodes.")
    show_dates: bool = Field(default=True, description="Prefix each episode with its date.")

    def format_hit(self, hit: MemoryHit) -> str:
        content = hit.memory.content
        return f"[{hit.memory.created_at:%Y-%m-%d}] {content}" if self.show_dates else content

    async def _aput(self, messages: list[ChatMessage]) -> None:
        session_id = self._session_of(messages)
        memories = [self._new(f"{_role(m)}: {text}", session_id, metadata={"role": _role(m)})
                    for m in messages
                    if _role(m) in self.roles and (text := message_text(m))]
        if memories:
            await self.memory.aremember_many(memories)


class SemanticMemoryBlock(_ExtractingBlock):
    """Facts: extracted from flushed messages, recalled by similarity.

    Extraction: ``extractor`` when given (any ``FactExtractor``), else an
    :class:`LLMFactExtractor` over ``llm``, else :class:`HeuristicFactExtractor`. Each fact
    is stored once per agent (and user): its id is derived from its normalised text.
    """

    memory_type: ClassVar[MemoryType] = MemoryType.SEMANTIC

    name: str = Field(default="SemanticMemory", description="The name of the memory block.")
    priority: int = Field(default=2, description="Truncation order (0 = never truncate).")

    def _extractor(self) -> FactExtractor:
        if self.extractor is not None:
            return self.extractor
        if self.llm is not None:
            return LLMFactExtractor(self.llm)
        return HeuristicFactExtractor()


class ProceduralMemoryBlock(_ExtractingBlock):
    """Instructions and how-tos, injected when relevant to the latest messages.

    ``aput`` stores nothing unless ``extractor`` is given, or ``llm`` is (then an
    :class:`LLMFactExtractor` with :data:`EXTRACT_PROCEDURES_PROMPT`). Add procedures
    directly with ``memory.remember(text, agent_id, memory_type="procedural")``.
    """

    memory_type: ClassVar[MemoryType] = MemoryType.PROCEDURAL

    name: str = Field(default="ProceduralMemory", description="The name of the memory block.")
    priority: int = Field(default=3, description="Truncation order (0 = never truncate).")

    def _extractor(self) -> FactExtractor | None:
        if self.extractor is not None:
            return self.extractor
        if self.llm is not None:
            return LLMFactExtractor(self.llm, EXTRACT_PROCEDURES_PROMPT)
        return None
