"""Shared test configuration.

Real-service fixtures live in plugin modules next to this file (``tests/`` is on ``sys.path``
under pytest's default import mode); see each module's docstring.
"""

pytest_plugins = ("weaviate_fixtures",)
