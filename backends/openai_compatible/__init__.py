"""The ``openai_compatible`` generator kind: OpenAI, Azure, vLLM, Ollama or a llama.cpp server."""
