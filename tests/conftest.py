"""Shared test configuration: the tiers.

``tests/unit``: no services, no network, no model downloads; fixtures they read are in
``tests/fixtures``, shared stand-ins in ``tests/fakes.py``, and ``tests/unit/conftest.py`` makes
any attempt to start weaviate-server fail. ``tests/integration``: the real weaviate-server
(``tests/integration/weaviate_fixtures.py``, loaded by that folder's conftest), models and
loopback servers. ``tests/contract``: suites every implementation of an interface must pass, run
from both tiers. ``tests/`` is on ``sys.path`` (pytest's default import mode), so
``from fakes import ...`` works everywhere.
"""
