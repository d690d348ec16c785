"""Drawing chat turns: one answer column per generator, with citations, badges and source downloads.

Only rendering lives here; what to show comes from :mod:`ui.turns` and :mod:`ui.markup`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import streamlit as st

from chat.badges import cascade_line, confidence_badge, not_sure_line
from chat.flags import CAUTION, cautions
from chat.results import GeneratorInfo, Retrieval
from core.domain import Answer, Citation, FlagKind, Hit
from core.prompt import neutralise
from ui.downloads import Downloads, prepared_download, source_download
from ui.markup import (
    answer_markdown,
    citation_label,
    confidence_help,
    confidence_markdown,
    error_markdown,
    escape_md,
    generator_title,
    highlight,
    info_for,
    metric_badges,
    privacy_badge,
)
from ui.turns import ChatTurn, passage

log = logging.getLogger(__name__)

LOCAL_ICON, HOSTED_ICON = ":material/computer:", ":material/cloud:"
ASSISTANT_AVATAR = ":material/forum:"
USER_AVATAR = ":material/person:"
RETRY_KEY = "docduet.retry"
WAITING = "_Reading the passages…_"
PASSAGE_CONTEXT = 400
"""Characters of the passage shown on each side of the highlighted snippet."""


def column_key(name: str, turn_key: str) -> str:
    """Widget key of an answer column (the page gets a ``st-key-answer-<name>-<turn>`` class)."""
    return f"answer-{name}-{turn_key}"


def column_header(info: GeneratorInfo) -> None:
    """Bold title with an icon, and a one-line caption saying where the model runs."""
    title, caption = generator_title(info)
    st.markdown(f"{HOSTED_ICON if info.off_premises else LOCAL_ICON} **{escape_md(title)}**")
    st.caption(escape_md(caption))


def render_answer(answer: Answer, hits: Sequence[Hit], key: str, downloads: Downloads | None = None) -> None:
    """One finished answer: its confidence and cascade steps, its text (or error), citations (with
    ``downloads``, a "Download source" button each), metrics."""
    render_confidence(answer)
    if answer.error:
        icon = ":material/settings:" if "configure" in answer.error.lower() else ":material/error:"
        st.warning(error_markdown(answer.error), icon=icon)
    else:
        st.markdown(answer_markdown(answer.text, answer.flags))
        render_cautions(answer)
        if answer.abstained and answer.privacy.withheld_count == 0:
            st.caption("No answer in the documents you can access.")
    for citation in answer.citations:
        render_citation(citation, passage(hits, answer, citation), f"{key}-{citation.number}", downloads)
    if answer.flagged_markers:
        dropped = ", ".join(f"[{n}]" for n in answer.flagged_markers)
        st.caption(f"Removed citation markers the passages did not support: {dropped}")
    if not answer.error:
        st.markdown(metric_badges(answer))
    elif answer.privacy.off_premises:
        st.markdown(privacy_badge(answer))


def render_confidence(answer: Answer) -> None:
    """The confidence badge (reasons on hover), the cascade's steps, and "not sure" for a withheld answer.

    Errors have no badge; a low-confidence answer keeps its text under a warning badge.
    """
    badge = confidence_badge(answer)
    if badge is not None:
        st.markdown(confidence_markdown(badge), help=confidence_help(badge))
    if (steps := cascade_line(answer)) is not None:
        st.caption(f":material/alt_route: {escape_md(steps)}")
    if (not_sure := not_sure_line(answer)) is not None:
        st.info(escape_md(not_sure), icon=":material/help:")


def render_cautions(answer: Answer) -> None:
    """Warnings for an answer's flags: a box for a credential request (quoted), a line for links."""
    for caution in cautions(answer.flags):
        if caution == CAUTION:
            asked = " ".join(f"“{f.text}”" for f in answer.flags if f.kind is FlagKind.CREDENTIAL_REQUEST)
            st.warning(f"{escape_md(caution)}  \n{escape_md(asked)}", icon=":material/gpp_maybe:")
        else:
            st.caption(f":material/warning: {escape_md(caution)}")


def render_citation(
    citation: Citation, hit: Hit | None, key: str, downloads: Downloads | None = None
) -> None:
    """A numbered expander: the passage with the supporting snippet highlighted, and the file.

    It opens by itself while it holds a fetched download (or why not): the click's rerun draws
    the turn anew, and the answer to the click must not hide in a closed expander.
    """
    fetched = prepared_download(key) is not None
    with st.expander(citation_label(citation), icon=":material/description:", expanded=fetched):
        text = neutralise(hit.chunk.text) if hit is not None else ""
        st.markdown(highlight(text, citation.snippet, context=PASSAGE_CONTEXT))
        how = "matched by docduet" if citation.attributed else "cited by the model"
        st.caption(f"Support {citation.support:.0%} · {how} · {escape_md(Path(citation.source).name)}")
        if downloads is not None:
            source_download(citation.source, key, downloads)


def render_question(text: str) -> None:
    with st.chat_message("user", avatar=USER_AVATAR):
        st.markdown(escape_md(text))


def render_turn(
    turn: ChatTurn, infos: Mapping[str, GeneratorInfo], downloads: Downloads | None = None
) -> None:
    """A turn from the history: the question, then the answers side by side."""
    render_question(turn.question)
    with st.chat_message("assistant", avatar=ASSISTANT_AVATAR):
        if turn.error:
            st.error(error_markdown(turn.error), icon=":material/cloud_off:")
        hits = turn.retrieval.hits if turn.retrieval else ()
        if turn.retrieval is not None:
            st.caption(retrieval_caption(turn.retrieval))
        columns = st.columns(len(turn.names), gap="large") if turn.names else []
        for column, name in zip(columns, turn.names, strict=True):
            with column, st.container(border=True, key=column_key(name, turn.key)):
                column_header(info_for(name, infos))
                answer = turn.answer(name)
                if answer is not None:
                    render_answer(answer, hits, f"{turn.key}-{name}", downloads)
                elif turn.status == "interrupted":
                    st.caption("Interrupted before this answer finished.")
        if turn.status != "done":
            retry_button(turn)


def retry_button(turn: ChatTurn) -> None:
    """Ask the same question again (the failed turn stays in the history)."""
    if st.button("Ask again", key=f"retry-{turn.key}", icon=":material/refresh:"):
        st.session_state[RETRY_KEY] = turn.question
        st.rerun()


def retrieval_caption(retrieval: Retrieval) -> str:
    n = len(retrieval.hits)
    found = f"{n} passage{'s' if n != 1 else ''}" if n else "no passages you can access"
    query = f" for “{escape_md(retrieval.query)}”" if retrieval.query else ""
    took = f"{retrieval.seconds * 1000:.0f} ms"
    return f":material/search: Searched your documents{query}: {found} in {took}{_from(retrieval.hits)}"


def _from(hits: Sequence[Hit], shown: int = 3) -> str:
    """`` from Title A, Title B and 2 more`` (escaped document titles), or nothing."""
    titles = list(dict.fromkeys(h.chunk.title.strip() or Path(h.chunk.source).name for h in hits))
    if not titles:
        return ""
    more = f" and {len(titles) - shown} more" if len(titles) > shown else ""
    return " from " + ", ".join(escape_md(t) for t in titles[:shown]) + more


class ColumnsView:
    """The live view of a turn being answered: one placeholder per column, filled as tokens come."""

    def __init__(
        self,
        names: Sequence[str],
        key: str,
        infos: Mapping[str, GeneratorInfo],
        downloads: Downloads | None = None,
    ) -> None:
        self._key, self._downloads = key, downloads
        self._hits: tuple[Hit, ...] = ()
        self._status = st.empty()
        self._status.caption(":material/search: Searching your documents…")
        self._bodies: dict[str, st.delta_generator.DeltaGenerator] = {}
        for column, name in zip(st.columns(len(names), gap="large"), names, strict=True):
            with column, st.container(border=True, key=column_key(name, key)):
                column_header(info_for(name, infos))
                self._bodies[name] = st.empty()
                self._bodies[name].markdown(WAITING)

    def retrieved(self, retrieval: Retrieval) -> None:
        self._hits = retrieval.hits
        self._status.caption(retrieval_caption(retrieval))

    def status(self, name: str, text: str) -> None:
        self._bodies[name].markdown(f"_{escape_md(text)}_")

    def partial(self, name: str, text: str) -> None:
        self._bodies[name].markdown(escape_md(text) + " ▌")

    def finished(self, answer: Answer) -> None:
        with self._bodies[answer.generator].container():
            render_answer(answer, self._hits, f"{self._key}-{answer.generator}", self._downloads)
