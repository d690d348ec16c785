"""The admin page: what the index holds, reindexing with live progress, failures and feedback."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from core.domain import User
from core.errors import DocduetError
from core.feedback import FeedbackRecord, GeneratorStats
from core.index import IndexStats
from ingest.last_run import LastRun
from ui.backend import ChatBackend, describe_outage
from ui.feedback_form import verdict_label
from ui.markup import cost, escape_md, seconds
from ui.progress_bar import BarProgress
from ui.signin import is_admin

log = logging.getLogger(__name__)

SUMMARY_KEY = "docduet.reindex_summary"
CHART_COLOR = "#4F46E5"


def admin_page(backend: ChatBackend, user: User) -> None:
    """Only members of the admin group get past the first line."""
    if not is_admin(user, backend.settings):
        st.error(f"This page is for members of the {backend.settings.identity.admin_group!r} group.")
        return
    st.markdown("## Admin")
    index_tab, feedback_tab = st.tabs([":material/database: Index", ":material/reviews: Feedback"])
    with index_tab:
        index_section(backend)
        reindex_section(backend)
        failures_section(backend.last_run())
    with feedback_tab:
        feedback_section(backend.feedback.stats(), backend.feedback.all(), _labels(backend))


def index_section(backend: ChatBackend) -> None:
    try:
        stats = backend.index_stats()
    except DocduetError as e:
        st.error(describe_outage(e, backend.settings), icon=":material/cloud_off:")
        return
    last = backend.last_run()
    docs, chunks, when = st.columns(3)
    docs.metric("Documents", len(stats.documents), border=True)
    chunks.metric("Chunks", stats.chunks, border=True)
    when.metric("Last ingest", ago(last.finished) if last else "never", border=True)
    if not stats.exists:
        st.info(f"The index {stats.collection!r} does not exist yet: run `docduet ingest PATH`.")
        return
    by_type, by_group = st.columns(2)
    with by_type:
        st.markdown("**By document type**")
        facet_table(stats, "doc_type", "type")
    with by_group:
        st.markdown("**By access group**")
        facet_table(stats, "group", "group")
    with st.expander(f"All {len(stats.documents)} documents"):
        st.dataframe(
            pd.DataFrame(
                [
                    {"source": d.source, "type": d.doc_type, "groups": ", ".join(d.groups),
                     "sensitivity": d.sensitivity, "chunks": d.chunks}
                    for d in stats.documents
                ]
            ),
            hide_index=True,
        )  # fmt: skip


def facet_table(stats: IndexStats, facet: str, label: str) -> None:
    rows = [{label: k, "documents": d, "chunks": c} for k, (d, c) in stats.by(facet).items()]
    frame = pd.DataFrame(rows, columns=[label, "documents", "chunks"])
    st.bar_chart(
        frame, x=label, y="chunks", horizontal=True, sort="-chunks", color=CHART_COLOR,
        height=40 + 26 * len(rows), x_label="chunks", y_label="",
    )  # fmt: skip
    st.dataframe(frame, hide_index=True)


def reindex_section(backend: ChatBackend) -> None:
    st.markdown("#### Reindex")
    full = st.checkbox(
        "Full rebuild",
        help="Rebuild into a new collection and switch the alias when complete (after changing "
        "the embedding model). Otherwise only changed files are processed.",
    )
    if st.button("Reindex now", icon=":material/sync:", type="primary"):
        bar = st.progress(0.0, text="Starting…")
        try:
            summary = backend.reindex(BarProgress(bar), full=full)
        except DocduetError as e:
            st.error(f"Reindexing failed: {escape_md(str(e))}", icon=":material/error:")
            return
        st.session_state[SUMMARY_KEY] = summary.to_json()
    summary_json = st.session_state.get(SUMMARY_KEY)
    if summary_json:
        summary_view(summary_json)


def summary_view(summary: dict[str, Any]) -> None:
    st.success(summary_text(summary), icon=":material/task_alt:")


def summary_text(summary: dict[str, Any]) -> str:
    """``3 added · 0 updated · 17 unchanged · 0 deleted · 1 failed — 12 chunks written in 4.2 s; …``."""
    outcomes = ("added", "updated", "unchanged", "deleted", "failed")
    counts = " · ".join(f"{len(summary.get(k) or [])} {k}" for k in outcomes)
    took = float(summary.get("seconds") or 0.0)
    return (
        f"{counts} — {summary.get('chunks', 0)} chunks written in {took:.1f} s; "
        f"{summary.get('total_chunks', 0)} chunks in the index."
    )


def failures_section(last: LastRun | None) -> None:
    st.markdown("#### Files that failed in the last run")
    if last is None:
        st.caption("No ingest or reindex run recorded yet.")
        return
    if not last.failed:
        st.caption(f"None: every file of the last run ({ago(last.finished)}) was ingested.")
        return
    st.dataframe(pd.DataFrame(last.failed), hide_index=True)


def _labels(backend: ChatBackend) -> dict[str, str]:
    try:
        return {i.name: i.label for i in backend.columns()}
    except DocduetError:  # the index is down: ids instead of labels
        return {}


def feedback_rows(stats: Sequence[GeneratorStats], labels: Mapping[str, str]) -> list[dict[str, object]]:
    """One row per generator: win rate, approval, mean latency and total cost."""
    return [
        {
            "model": labels.get(s.generator, s.generator),
            "rated answers": s.answers,
            "win rate": s.wins / s.answers if s.answers else 0.0,
            "good or better": s.good / s.answers if s.answers else 0.0,
            "mean total time": seconds(s.mean_total_s),
            "total cost": cost(s.total_cost_usd),
        }
        for s in stats
    ]


def feedback_section(
    stats: Sequence[GeneratorStats], records: Sequence[FeedbackRecord], labels: Mapping[str, str]
) -> None:
    if not records:
        st.info("No feedback yet. Ratings given in the chat (and on Slack) appear here.")
        return
    rows = feedback_rows(stats, labels)
    st.markdown(f"**{len(records)} rated turns**")
    if rows:  # ratings stored without their answers (e.g. Slack after a restart) name no model
        st.altair_chart(win_rate_chart(pd.DataFrame(rows)), height=70 + 40 * len(rows))
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            column_config={
                "win rate": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
                "good or better": st.column_config.ProgressColumn(
                    format="percent", min_value=0, max_value=1
                ),
            },
        )
    verdicts = Counter(verdict_label(r.verdict, labels) for r in records)
    st.markdown("**Verdicts**")
    counts = pd.DataFrame({"verdict": list(verdicts), "turns": list(verdicts.values())})
    st.bar_chart(counts, x="verdict", y="turns", horizontal=True, sort=False, color=CHART_COLOR,
                 height=60 + 34 * len(verdicts), y_label="")  # fmt: skip
    comments = [r for r in reversed(records) if r.comment][:20]
    if comments:
        st.markdown("**Latest comments**")
        for r in comments:
            verdict = verdict_label(r.verdict, labels)
            who = escape_md(r.user or "anonymous")  # a name from a token or proxy: untrusted
            st.caption(f"{r.created:%Y-%m-%d %H:%M} · {who} · {verdict}")
            st.text(r.comment)


def win_rate_chart(frame: pd.DataFrame) -> alt.Chart:
    """Win rate per model as horizontal bars on a 0-100 % axis."""
    return (
        alt.Chart(frame)
        .mark_bar(color=CHART_COLOR)
        .encode(
            x=alt.X("win rate:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", tickCount=5)),
            y=alt.Y("model:N", title=None),
            tooltip=["model", alt.Tooltip("win rate:Q", format=".0%"), "rated answers"],
        )
    )


def ago(when: datetime, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 days ago``."""
    delta = ((now or datetime.now(UTC)) - when).total_seconds()
    if delta < 60:
        return "just now"
    if delta < 3600:
        return f"{delta // 60:.0f} min ago"
    if delta < 86400:
        return f"{delta // 3600:.0f} h ago"
    return f"{delta // 86400:.0f} days ago"
