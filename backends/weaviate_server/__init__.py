"""The weaviate-server processes docduet runs itself: the binary built from its Go module
(``binary``), one server (``server``), the embedded default (``embedded``) and local clusters
(``cluster``).

Import the submodules directly; this package imports nothing, so loading one part never starts
anything.
"""
