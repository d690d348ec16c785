"""bench/model_formats.py's arithmetic (issue 24): rates per variant from the rounds, by wall and CPU."""

from __future__ import annotations

from typing import Any

from bench.model_formats import _brief, _rates, messages


def timed(first: float, total: float, tokens: int, *, cpu_share: float = 0.5) -> dict[str, Any]:
    return {"first_wall_s": first, "total_wall_s": total, "first_cpu_s": first * cpu_share,
            "total_cpu_s": total * cpu_share, "prompt_tokens": 800, "reused_tokens": 0,
            "completion_tokens": tokens, "steps": tokens, "text": "5 days, by 31 March [1]"}  # fmt: skip


def test_rates_are_medians_over_the_rounds_by_wall_clock_and_by_cpu() -> None:
    rounds = [{"packaged": {"prompt": timed(8.0, 8.0, 1), "decode": timed(0.5, 4.5, 40)}},
              {"packaged": {"prompt": timed(10.0, 10.0, 1), "decode": timed(0.5, 2.5, 40)}},
              {"packaged": {"prompt": timed(40.0, 40.0, 1), "decode": timed(0.5, 8.5, 40)}}]  # fmt: skip
    rates = _rates(rounds, "packaged")
    assert rates["prompt_tps_wall"] == 80.0 and rates["prompt_tps_cpu"] == 160.0  # 800 tokens / 10 s
    assert rates["first_token_wall_s"] == 10.0
    assert rates["decode_tps_wall"] == 10.0 and rates["decode_tps_cpu"] == 20.0  # 40 tokens / 4 s
    assert _brief(rounds[0])["packaged"] == {
        "prompt_tps_cpu": 200.0,
        "decode_tps_cpu": 20.0,
        "first_wall_s": 8.0,
    }


def test_the_prompt_asks_an_extractive_question_over_handbook_passages() -> None:
    chat = messages()
    assert chat[0]["role"] == "system" and "carry over" in chat[-1]["content"]
    assert chat[-1]["content"].count("Document [") == 3
    assert "carry up to 5 unused days" in chat[-1]["content"]  # the answer is in a passage
