"""``docduet ask`` and ``docduet compare``: answers in the terminal, or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from chat.badges import Tone, cascade_line, confidence_badge, not_sure_line
from chat.flags import LABELS, cautions
from core.domain import Answer
from core.settings import Settings

USER_HELP = "answer as this user (from DOCDUET_USERS_FILE); default: anonymous, public documents only"


def register(sub: Any) -> None:
    _question_command(
        sub,
        "ask",
        help="answer a question with one generator",
        description="Retrieve the passages USER may read and answer QUESTION with one generator, "
        "with verified citations, timings, tokens and cost.",
        choice=(
            "--generator",
            "ID",
            "a generator id from the generators file (default: the first enabled one, `slm`)",
        ),
    ).set_defaults(run=_run_ask)
    _question_command(
        sub,
        "compare",
        help="answer a question with every enabled generator side by side",
        description="One retrieval, one answer per generator, generated concurrently (by default "
        "a small and a larger local model, plus a hosted model once configured). Each generator "
        "receives only passages up to its sensitivity ceiling.",
        choice=("--generators", "IDS", "comma-separated generator ids (default: every enabled one)"),
    ).set_defaults(run=_run_compare)


def _question_command(
    sub: Any, name: str, *, help: str, description: str, choice: tuple[str, str, str]
) -> Any:
    """``docduet NAME QUESTION`` with the generator option ``choice`` (flag, metavar, help),
    ``--user`` and ``--json``."""
    parser = sub.add_parser(name, help=help, description=description)
    parser.add_argument("question", metavar="QUESTION")
    flag, metavar, choice_help = choice
    parser.add_argument(flag, default=None, metavar=metavar, help=choice_help)
    parser.add_argument("--user", default=None, metavar="NAME", help=USER_HELP)
    parser.add_argument("--json", action="store_true", help="print the full structured result")
    return parser


def _run_ask(args: argparse.Namespace) -> int:
    return _answer(args, [args.generator] if args.generator else None, first_only=True)


def _run_compare(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.generators.split(",") if n.strip()] if args.generators else None
    return _answer(args, names)


def _answer(args: argparse.Namespace, names: list[str] | None, *, first_only: bool = False) -> int:
    from chat.results import Question
    from core.identity import UserDirectory
    from docduet.compose import Root

    settings = Settings()
    user = UserDirectory.from_settings(settings.identity).resolve(args.user)
    question = Question(text=args.question, user=user)
    with Root(settings) as root:
        specs = root.generator_specs(names)
        names = [s.id for s in specs][:1] if first_only else [s.id for s in specs]
        service = root.answer_service(names)
        if args.json:
            comparison = service.compare(question, names)
            json.dump(comparison.to_json(), sys.stdout, indent=2, default=str)
            sys.stdout.write("\n")
            answers = comparison.answers
        else:
            answers = _live(service, question, names)
    return exit_status(answers)


def exit_status(answers: tuple[Answer, ...]) -> int:
    """0 when at least one generator answered (an unconfigured hosted model is not a failure
    of the run: its column says how to configure it), 1 when every one failed."""
    return 0 if any(a.error is None for a in answers) else 1


MIN_PANEL_WIDTH = 48
"""Narrower than this per answer, panels are stacked instead of laid side by side."""


def _live(service: Any, question: Any, names: list[str]) -> tuple[Answer, ...]:
    """Stream the answers into the terminal (live only on a TTY), then print them with citations."""
    console = Console()
    texts = {n: "" for n in names}
    done: dict[str, Answer] = {}
    labels = {n: service.label(n) for n in names}
    live_view = Live(console=console, refresh_per_second=8, transient=True, auto_refresh=console.is_terminal)
    with live_view as live:
        for event in service.stream(question, names):
            if event.kind == "token":
                texts[event.generator] += event.text
            elif event.kind == "status" and event.restart:  # a cascade's next model takes over
                texts[event.generator] = ""
            elif event.kind == "answer" and event.answer is not None:
                done[event.generator] = event.answer
            if console.is_terminal:
                live.update(side_by_side(console, [_streaming(n, texts, done, labels) for n in names]))
    answers = tuple(done[n] for n in names)
    console.print(side_by_side(console, [answer_panel(a, labels[a.generator]) for a in answers]))
    return answers


def _streaming(name: str, texts: dict[str, str], done: dict[str, Answer], labels: dict[str, str]) -> Panel:
    state = "done" if name in done else ("reading the passages…" if not texts[name] else "writing…")
    return Panel(texts[name] or "…", title=labels[name], subtitle=state)


def side_by_side(console: Console, panels: list[Panel]) -> Any:
    """Panels in columns when the terminal is wide enough for all of them, else one under another."""
    if console.width >= MIN_PANEL_WIDTH * len(panels):
        table = Table.grid(expand=True, padding=(0, 1))
        for _ in panels:
            table.add_column(ratio=1)
        table.add_row(*panels)
        return table
    return Group(*panels)


def answer_panel(answer: Answer, label: str | None = None) -> Panel:
    """One answer with its citations and metrics, as a rich panel."""
    body: list[Any] = confidence_lines(answer)
    if answer.error:
        body.append(Text(f"error: {answer.error}", style="red"))
    else:
        body.append(Text(answer.text))
        body.extend(flag_lines(answer))
    for c in answer.citations:
        where = " · ".join(x for x in (c.section, f"p. {c.page}" if c.page else "") if x)
        mark = " (attributed)" if c.attributed else ""
        body.append(Text(f"[{c.number}] {c.title} {where}{mark}", style="cyan"))
        body.append(Text(f"    “{c.snippet[:160]}”", style="dim"))
    body.append(Text(metrics_line(answer), style="dim"))
    return Panel(
        Group(*body), title=label or answer.generator, border_style="red" if answer.error else "blue"
    )


BADGE_STYLES: dict[Tone, str] = {
    "good": "bold green",
    "neutral": "bold cyan",
    "warning": "bold yellow",
    "muted": "dim",
}
"""The terminal style of a confidence badge, by its tone (the words come from :mod:`chat.badges`)."""


def confidence_lines(answer: Answer) -> list[Text]:
    """The confidence badge and its main reasons, the cascade's steps, and "not sure" when withheld."""
    lines: list[Text] = []
    if (badge := confidence_badge(answer)) is not None:
        lines.append(Text(badge.text, style=BADGE_STYLES[badge.tone]))
        if badge.detail:
            lines.append(Text(f"why: {badge.detail}", style="dim"))
    if (steps := cascade_line(answer)) is not None:
        lines.append(Text(steps, style="dim"))
    if (not_sure := not_sure_line(answer)) is not None:
        lines.append(Text(not_sure, style="bold yellow"))
    return lines


def flag_lines(answer: Answer) -> list[Text]:
    """One warning per flagged link or credential request (:mod:`chat.flags`), then the cautions."""
    lines = [Text(f"⚠ {LABELS[f.kind]}: {f.text}", style="bold yellow") for f in answer.flags]
    return lines + [Text(c, style="yellow") for c in cautions(answer.flags)]


def metrics_line(answer: Answer) -> str:
    t, u, p = answer.timings, answer.usage, answer.privacy
    first = f"{t.first_token_s:.2f}s" if t.first_token_s is not None else "-"
    sent = "yes" if p.off_premises else "no"
    withheld = f" ({p.withheld_count} sources withheld)" if p.withheld_count else ""
    waited = f"waited {t.queue_s:.1f}s for its turn · " if t.queue_s >= 0.5 else ""
    return (
        f"{waited}first token {first} · total {t.total_s:.2f}s · retrieval {t.retrieval_s * 1000:.0f} ms · "
        f"{u.prompt_tokens}+{u.completion_tokens} tokens · ${u.cost_usd:.5f} · "
        f"sent off-premises: {sent}{withheld}"
    )
