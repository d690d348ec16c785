"""Test sets written from the company's own index (``docduet eval --generate N``).

:mod:`.build` runs it, :mod:`.flow` writes and filters each question, :mod:`.filters` holds the
quality checks, :mod:`.prompts` the writing prompts, :mod:`.writers` who writes and who asks,
:mod:`.items` the QA JSONL with provenance and hashes (and the hand edits made since).
"""
