"""Weaviate for docduet: the server it runs itself (``server``, ``binary``, ``cluster``), the
client connection (``client``), and the index schema and chunk store built on it.

Import the submodules directly (``from docduet.db.client import open_client``); this package
imports nothing, so loading one part never pulls in weaviate-client or starts anything.
"""
