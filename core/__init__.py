"""The kernel: settings, domain types, errors, the registry and the protocols every layer speaks.

It imports nothing of docduet's other packages (``make lint`` checks it); see docs/architecture.md.
"""
