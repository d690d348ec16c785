"""The evaluation harness behind ``docduet eval``: retrieval quality (BEIR layout), answer quality
(SQuAD 2.0 JSON or simple JSONL) for every generator, and a decision report.

Entry point: :func:`evaluation.run.run_eval`. Metric functions are pure (:mod:`evaluation.metrics`).
"""
