"""The ``agentmem demo`` script: two agents store, recall and converse.

Ids are fixed, so running the demo again updates the same memories instead of piling
up copies.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .memory import HybridMemory
from .models import Memory, MemoryType

__all__ = ["run_demo"]

TUTOR, OPS = "demo-tutor", "demo-ops"

SESSION = "demo-session"  # the conversation the demo records (step 2)
ML_LESSON = "demo-ml-lesson"  # an earlier tutoring session, about machine learning

# (agent, content, type, importance, metadata, session): only episodes belong to a
# session; facts and procedures hold whatever the conversation, so they have none.
MEMORIES: list[tuple[str, str, MemoryType, float, dict[str, object], str | None]] = [
    (TUTOR, "User asked about machine learning algorithms", MemoryType.EPISODIC, 0.6,
     {"topic": "ML", "difficulty": "beginner", "satisfaction": 0.8}, ML_LESSON),
    (TUTOR, "User requested information about neural networks", MemoryType.EPISODIC, 0.5,
     {"topic": "AI", "depth": "intermediate"}, ML_LESSON),
    (TUTOR, "Successfully helped the user debug their Python code", MemoryType.EPISODIC, 0.8,
     {"topic": "programming", "language": "python", "success": True}, SESSION),
    (TUTOR, "The user's preferred programming language is Python", MemoryType.SEMANTIC, 0.9,
     {"topic": "programming"}, None),
    (TUTOR, "To debug Python code: reproduce, read the traceback, add a failing test, fix",
     MemoryType.PROCEDURAL, 0.7, {"topic": "programming"}, None),
    (OPS, "The production database runs PostgreSQL 16 with pgvector", MemoryType.SEMANTIC, 0.9,
     {"topic": "infrastructure"}, None),
    (OPS, "Restarted the Chroma server after a disk-full alert", MemoryType.EPISODIC, 0.6,
     {"topic": "incident"}, None),
    (OPS, "To rotate a database password: create the new secret, roll the pods, revoke the "
          "old one", MemoryType.PROCEDURAL, 0.8, {"topic": "security"}, None),
]

CONVERSATION = [
    (TUTOR, "user", "My script fails with a KeyError, can you help?"),
    (TUTOR, "assistant", "Sure: paste the traceback and we will reproduce it first."),
    (OPS, "user", "Is the vector index healthy?"),
    (OPS, "assistant", "Yes: agentmem doctor reports every index present."),
]

QUERIES = [
    (TUTOR, "Help with programming"),
    (TUTOR, "how do I fix a bug?"),
    (OPS, "how do I change the database password"),
    (OPS, "what went wrong with the Chroma server?"),
]
ISOLATION = (OPS, "Help with programming")  # a tutor's question, asked by the ops agent


def demo_memories() -> list[Memory]:
    """The memories the demo stores, with fixed ids."""
    return [Memory(id=f"demo-{i}", agent_id=agent, content=text, memory_type=kind,
                   importance=importance, metadata=meta, session_id=session)
            for i, (agent, text, kind, importance, meta, session) in enumerate(MEMORIES)]


def run_demo(memory: HybridMemory, console: Console) -> None:
    """Store, recall, converse and report, printing each step."""
    console.rule(f"[bold]agentmem demo[/] ({memory.mode} mode, {memory.embedder.model_id})")
    memory.init()
    batch = demo_memories()
    memory.remember_many(batch)
    console.print(f"1. stored {len(batch)} memories for {TUTOR} and {OPS}")

    for agent in (TUTOR, OPS):
        memory.clear_history(SESSION, agent)
    for agent, role, text in CONVERSATION:
        memory.add_turn(SESSION, agent, role, text)
    console.print(f"2. recorded {len(CONVERSATION)} conversation turns")

    console.print("3. recall (each agent sees only its own memories)")
    for agent, query in QUERIES:
        table = Table(title=f"{agent}: {query!r}", title_justify="left")
        table.add_column("score", justify="right")
        table.add_column("type")
        table.add_column("memory")
        for hit in memory.recall(query, agent, k=3):
            table.add_row(f"{hit.score:.3f}", hit.memory.memory_type.value, hit.memory.content)
        console.print(table)
    agent, query = ISOLATION
    foreign = [h for h in memory.recall(query, agent, k=3) if h.memory.agent_id != agent]
    console.print(f"   {agent} asking {query!r} finds {len(foreign)} of {TUTOR}'s memories "
                  "(agents are isolated)", markup=False)

    console.print("4. procedural memories with importance >= 0.75")
    for hit in memory.recall("how to", TUTOR, memory_types=["procedural"], k=3,
                             filter={"importance": {"$gte": 0.75}}) + memory.recall(
            "how to", OPS, memory_types=["procedural"], k=3,
            filter={"importance": {"$gte": 0.75}}):
        console.print(f"   {hit.memory.agent_id} › {hit.memory.content}", markup=False)

    console.print("5. conversation history")
    for agent in (TUTOR, OPS):
        for turn in memory.history(SESSION, agent):
            console.print(f"   {agent} › {turn.role}: {turn.content}", markup=False)

    stats = Table(title="6. statistics", title_justify="left")
    for col in ("agent", "episodic", "semantic", "procedural", "turns", "waiting for index"):
        stats.add_column(col, justify="right" if col != "agent" else "left")
    for agent in (TUTOR, OPS):
        s = memory.stats(agent)
        stats.add_row(agent, *(str(s.by_type[t.value]) for t in MemoryType), str(s.turns),
                      str(s.pending_index))
    console.print(stats)
