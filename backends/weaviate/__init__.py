"""Weaviate as docduet's chunk index: the client connection (``client``), the schema, the chunk
store and its hybrid search.

Import the submodules directly; this package imports nothing, so loading one part never pulls in
weaviate-client.
"""
