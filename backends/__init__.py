"""Back ends: the adapters to third-party systems, each behind a protocol of :mod:`core.protocols`.

``weaviate`` (client, schema, the chunk index and its search), ``weaviate_server`` (the
weaviate-server processes docduet runs itself), ``llama_cpp`` and ``openai_compatible`` (generator
kinds), ``sentence_transformers`` (the embedder) and ``unstructured`` (the parser). Only the
composition root (:mod:`docduet.compose`) builds them; see docs/architecture.md.
"""
