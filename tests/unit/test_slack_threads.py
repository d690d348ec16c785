"""ThreadMemory and the shared follow-up rules (chat.history), without Slack."""

from __future__ import annotations

from fakes import ManualClock

from chat.history import carried_answer, conversation
from core.domain import Answer, Privacy, Timings, Usage
from slackbot.threads import ThreadMemory


def answer(name: str, text: str, *, error: str | None = None, abstained: bool = False) -> Answer:
    return Answer(
        generator=name,
        text=text,
        citations=(),
        timings=Timings(0.1, 0.2, 0.3),
        usage=Usage(10, 5, 0.0),
        privacy=Privacy("local", False, (), 0),
        error=error,
        abstained=abstained,
    )


def test_the_carried_answer_is_the_first_that_answered() -> None:
    slm = answer("slm", "Not found in the documents you can access.", abstained=True)
    llm = answer("llm", "Twenty weeks [1].")
    failed = answer("llm", "", error="timed out")
    assert carried_answer([slm, llm]) is llm
    assert carried_answer([slm, failed]) is slm  # an abstention beats nothing
    assert carried_answer([failed]) is None


def test_conversation_keeps_the_last_turns_without_markers() -> None:
    pairs = [(f"q{i}", answer("slm", f"a{i} [1][2].")) for i in range(6)] + [("q6", None)]
    turns = conversation(pairs, max_turns=3)
    assert [(t.role, t.content) for t in turns] == [
        ("user", "q4"), ("assistant", "a4."), ("user", "q5"), ("assistant", "a5."), ("user", "q6"),
    ]  # fmt: skip
    assert conversation(pairs, max_turns=0) == ()


def test_a_thread_remembers_its_latest_turns_only() -> None:
    memory = ThreadMemory(max_turns=2)
    for i in range(3):
        memory.add("T:D1:1.0", f"q{i}", answer("slm", f"a{i}"))
    assert [t.content for t in memory.history("T:D1:1.0")] == ["q1", "a1", "q2", "a2"]
    assert memory.history("T:D1:2.0") == ()


def test_idle_threads_expire_and_old_threads_make_room() -> None:
    clock = ManualClock()
    memory = ThreadMemory(max_threads=2, ttl_s=60, clock=clock)
    memory.add("a", "qa", None)
    clock.now += 59
    assert memory.history("a") != ()
    clock.now += 2
    assert memory.history("a") == ()  # idle past the TTL
    memory.add("b", "qb", None)
    memory.add("c", "qc", None)
    memory.history("b")  # reading does not refresh; only a new turn does
    memory.add("d", "qd", None)
    assert memory.history("b") == () and memory.history("c") != () and memory.history("d") != ()
