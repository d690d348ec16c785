"""Links in untrusted text and addresses in error messages (core/untrusted.py)."""

from __future__ import annotations

import pytest

from core.untrusted import HIDDEN, public_error, unsupported_urls, urls


def test_urls_are_found_without_trailing_punctuation() -> None:
    text = "See https://intranet.example/docs/a_b?x=1, or www.corvala.example. Also (http://x.test/p)."
    assert urls(text) == ["https://intranet.example/docs/a_b?x=1", "www.corvala.example", "http://x.test/p"]
    assert urls("no links here: 12:30, e.g. version 1.2.3") == []


def test_answer_links_missing_from_every_passage_are_reported_once() -> None:
    passages = ["The VPN portal is https://vpn.corvala.example/login (use Okta)."]
    answer = (
        "Log in at https://vpn.corvala.example/login, then [Re-authenticate](https://phish.example/x) "
        "and again https://phish.example/x or HTTPS://VPN.CORVALA.EXAMPLE/login/"
    )
    assert unsupported_urls(answer, passages) == ["https://phish.example/x"]
    assert unsupported_urls("Nothing to see", passages) == []
    assert unsupported_urls("www.corvala.example/holidays", ["see corvala.example/holidays"]) == []


@pytest.mark.parametrize(
    ("message", "leak"),
    [
        ("cannot reach http://10.2.3.4:8000/v1 (connection refused); try again", "10.2.3.4"),
        ("check that the Weaviate at WEAVIATE_URL=http://weaviate:8080 is up", "weaviate:8080"),
        ("gRPC weaviate-grpc.internal:50051 unavailable", "weaviate-grpc.internal"),
        ("timed out talking to llm.corp.example after 60 s", "llm.corp.example"),
        ("refused by 127.0.0.1", "127.0.0.1"),
        ("refused by [::1]:8079", "::1"),
        ("llama server on localhost:8081 gone", "localhost:8081"),
    ],
)
def test_errors_keep_their_advice_but_lose_their_addresses(message: str, leak: str) -> None:
    shown = public_error(message)
    assert leak not in shown and HIDDEN in shown, shown


def test_errors_without_addresses_are_unchanged() -> None:
    message = "no hosted LLM is configured; set OPENAI_API_KEY or DOCDUET_LLM_BASE_URL (HTTP 500, 2 s)"
    assert public_error(message) == message
