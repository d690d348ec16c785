"""What an answer's reader must be warned about: links and credential requests from documents.

A retrieved page can tell the model to send the reader somewhere ("enter your current password
and MFA code at https://…"): the answer then repeats it, cited. :func:`answer_flags` finds, once
per answer (the answer service stores them in :attr:`core.domain.Answer.flags`), what every
front end shows with a warning ("from a document, not verified"):

- each web address in the answer that the asker did not write and that no trusted setting
  vouches for (``DOCDUET_TRUSTED_LINKS``, ``DOCDUET_SOURCE_URL_BASE``): taken from a passage
  (:attr:`FlagKind.DOCUMENT_LINK`) or found in none (:attr:`FlagKind.UNSUPPORTED_LINK`);
- each sentence that asks for a password, an MFA or one-time code, or to verify an account
  (:func:`credential_requests`), unless the question itself asked for one.

The credential detector is built for precision: "passwords need 12 characters", "never share
your MFA code" or "type your old password, then the new one" are not requests; "enter your
current password and MFA code at https://…", "reply with your password" and "verify your
account at …" are. It reads the text with look-alike letters folded (:func:`core.untrusted.fold`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from core.domain import Flag, FlagKind
from core.untrusted import bare_url, fold, urls

DOCUMENT_LINK_LABEL = "from a document, not verified"
UNSUPPORTED_LINK_LABEL = "link not in any passage"
CREDENTIAL_LABEL = "asks for credentials: from a document, not verified"
CAUTION = (
    "This answer repeats a request for a password, an MFA or one-time code, or to verify an "
    "account. It comes from a document, not verified: do not enter or send credentials because "
    "an answer says so; ask IT through a channel you already know."
)
LINK_CAUTION = (
    "Links in this answer come from documents, not verified by docduet: check the address before "
    "you open it, and never sign in through it."
)
UNSUPPORTED_CAUTION = (
    "This answer contains a link that appears in none of the passages: do not open it or sign in "
    "through it."
)

LABELS = {
    FlagKind.DOCUMENT_LINK: DOCUMENT_LINK_LABEL,
    FlagKind.UNSUPPORTED_LINK: UNSUPPORTED_LINK_LABEL,
    FlagKind.CREDENTIAL_REQUEST: CREDENTIAL_LABEL,
}
"""A few words per kind of flag, for a mark or a list."""

_SECRET = (
    r"(?:pass(?:words?|codes?|phrases?)|pins?|credentials?|otps?"
    r"|(?:log-?in|sign-?in|account)\s+(?:details|information|info)"
    r"|(?:mfa|2fa|two[- ]factor|multi[- ]factor|one[- ]time|verification|security|authenticat(?:ion|or)"
    r"|log-?in|sign-?in|sms|recovery|backup|okta)\s+(?:codes?|tokens?|numbers?|pins?|passwords?|passcodes?)"
    r"|security\s+(?:questions?|answers?))"
)
_GAP = r"\s+(?:(?!(?:in|into|of|for|on|at|to|from|about|than|with|is|are|must|should)\b)[\w'’-]+\s+){0,6}?"
"""At most six words between the verb and the secret ("enter both your current Okta password"), none
a preposition: in "use 12 characters in your password" the password is not what is used."""
_SEND = (
    r"send|share|give|provide|submit|e-?mail|forward|disclose|reveal|tell|read\s+out"
    r"|reply(?:\s+[\w-]+){0,4}?\s+with"
    r"|supply|paste|upload|hand\s+over|dictate"
)
_TYPE = (
    r"enter|re-?enter|type|re-?type|input|key\s+in|fill\s+in|confirm|use|sign\s+in\s+with"
    r"|log\s*in\s+with|log\s+on\s+with"
)
_SEND_RE = re.compile(rf"\b(?:{_SEND})\b{_GAP}{_SECRET}\b", re.I)
"""Giving a secret away: a request wherever it goes."""
_TYPE_RE = re.compile(rf"\b(?:{_TYPE})\b{_GAP}{_SECRET}\b", re.I)
"""Typing a secret: a request only when the sentence names somewhere to type it (a link, a page)."""
_VERIFY_RE = re.compile(
    r"\b(?:verify|re-?verify|validate|re-?validate|re-?activate|re-?confirm|confirm)\s+(?:your|the)\s+"
    r"(?:[\w-]+\s+)?(?:account|mailbox|credentials|login|log-in|sign-in)\b",
    re.I,
)
_DESTINATION = re.compile(
    r"\b(?:link|links|web\s*page|webpage|page|form|website|site|reply|replying)\b|@\w", re.I
)
"""Where a typed secret would go: a sentence naming one of these (or a link) sends it away."""
_NEGATION = re.compile(
    r"\b(?:never|not|no|nobody|neither|nor|avoid|refuse|cannot|can't|won't|don't|doesn't|didn't|"
    r"shouldn't|mustn't|isn't)\b|n't\b",
    re.I,
)
_WARNING = re.compile(r"\b(?:if|when|whenever|phish\w*|scam\w*|suspicious|fraud\w*|report)\b", re.I)
_ASKED_TO = re.compile(
    r"\b(?:asks?|asked|asking|requests?|requested|prompts?|tells?|wants?)\s+(?:you\s+)?to\s*$", re.I
)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_NEGATION_WORDS = 6


def answer_flags(
    answer: str,
    *,
    question: str,
    passages: Iterable[str],
    trusted: Sequence[str] = (),
) -> tuple[Flag, ...]:
    """The links and credential requests of ``answer`` to show flagged, in order, each once.

    ``question`` is what the asker wrote (the conversation's user turns too): a link or a request
    found there is the asker's own. ``trusted`` holds URL prefixes or host names the organisation
    vouches for (a host also covers its subdomains).
    """
    haystack = "\n".join(passages).casefold()
    asked = question.casefold()
    flags: list[Flag] = []
    for link in urls(answer):
        bare = bare_url(link)
        if bare in asked or is_trusted(link, trusted) or any(f.text == link for f in flags):
            continue
        kind = FlagKind.DOCUMENT_LINK if bare in haystack else FlagKind.UNSUPPORTED_LINK
        flags.append(Flag(kind, link))
    if not credential_requests(question):
        requests = (s for s in credential_requests(answer) if not _only_trusted_links(s, trusted))
        flags.extend(Flag(FlagKind.CREDENTIAL_REQUEST, s) for s in requests)
    return tuple(flags)


def credential_requests(text: str) -> list[str]:
    """The sentences of ``text`` that ask the reader for credentials (see the module's rules)."""
    return [sentence for sentence in _sentences(text) if _asks_for_credentials(sentence)]


def is_trusted(link: str, trusted: Sequence[str]) -> bool:
    """Whether ``link`` is under one of ``trusted`` (a URL prefix, or a host and its subdomains).

    Compared as written: a look-alike host (a Cyrillic ``а`` in ``corvаla.example``) is not trusted.
    """
    host, path = _host_path(link)
    if not host:
        return False
    for entry in trusted:
        t_host, t_path = _host_path(entry.strip())
        if not t_host or not (host == t_host or host.endswith("." + t_host)):
            continue
        if not t_path.strip("/") or path == t_path or path.startswith(t_path.rstrip("/") + "/"):
            return True
    return False


def flagged_links(flags: Iterable[Flag]) -> dict[str, FlagKind]:
    """Link -> kind, for marking links inline."""
    return {f.text: f.kind for f in flags if f.kind is not FlagKind.CREDENTIAL_REQUEST}


def cautions(flags: Sequence[Flag]) -> list[str]:
    """The warning sentences to show under an answer with ``flags`` (plain text), most serious first."""
    kinds = {f.kind for f in flags}
    out = []
    if FlagKind.CREDENTIAL_REQUEST in kinds:
        out.append(CAUTION)
    if FlagKind.UNSUPPORTED_LINK in kinds:
        out.append(UNSUPPORTED_CAUTION)
    if FlagKind.DOCUMENT_LINK in kinds:
        out.append(LINK_CAUTION)
    return out


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _asks_for_credentials(sentence: str) -> bool:
    plain = fold(unicodedata.normalize("NFKC", sentence))
    for pattern, needs_destination in ((_SEND_RE, False), (_VERIFY_RE, False), (_TYPE_RE, True)):
        for match in pattern.finditer(plain):
            if _negated(plain[: match.start()]) or _warned_about(plain, match.start()):
                continue
            if needs_destination and not _sends_away(plain):
                continue
            return True
    return False


def _negated(before: str) -> bool:
    """A negation among the last few words of the clause before the verb ("never share …")."""
    clause = re.split(r"[,:;(—–]", before)[-1]
    words = clause.split()[-_NEGATION_WORDS:]
    return _NEGATION.search(" ".join(words)) is not None


def _warned_about(sentence: str, start: int) -> bool:
    """"If a page asks you to enter your password, report it": a warning, not a request."""
    return _ASKED_TO.search(sentence[:start]) is not None and _WARNING.search(sentence) is not None


def _sends_away(sentence: str) -> bool:
    return bool(urls(sentence)) or _DESTINATION.search(sentence) is not None


def _only_trusted_links(sentence: str, trusted: Sequence[str]) -> bool:
    """A request that names only trusted addresses (the company's own sign-in page) is no phish."""
    links = urls(sentence)
    return bool(links) and "@" not in sentence and all(is_trusted(link, trusted) for link in links)


def _host_path(link: str) -> tuple[str, str]:
    """Lower-case host and path of a URL, ``www.`` address or bare host name."""
    if "://" not in link:
        link = "//" + link
    try:
        parts = urlsplit(link)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return "", ""
    return host.removeprefix("www."), parts.path
