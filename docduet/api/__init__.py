"""``docduet serve``: the OpenAI-compatible API over the same permission-aware, cited answers."""
