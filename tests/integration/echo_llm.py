"""The instant loopback OpenAI-compatible endpoint: bench's double (bench/doubles/echo_llm.py)."""

from bench.doubles.echo_llm import ANSWER, EchoLLM

__all__ = ["ANSWER", "EchoLLM"]
