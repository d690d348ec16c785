# docduet developer entry points. `make run` and `make test` each do the whole set-up first
# (idempotent, cached), so on a fresh machine they are the only two commands needed.
.PHONY: setup run test test-unit lint bench eval-retrieval eval-answers corpora clean-db

PY := .venv/bin/python
DOCDUET := .venv/bin/docduet

setup:
	@bash scripts/setup.sh

run: setup
	@bash scripts/run.sh

test: setup
	@bash scripts/setup-browser.sh
	$(PY) -m pytest

test-unit: setup
	$(PY) -m pytest tests/unit

lint:
	.venv/bin/ruff check .
	.venv/bin/mypy core backends docduet ingest retrieval chat ui slackbot evaluation
	PYTHONPATH=. .venv/bin/lint-imports

bench: setup
	$(DOCDUET) bench

eval-retrieval: setup
	$(DOCDUET) eval ../shared/eval/scifact

eval-answers: setup
	$(DOCDUET) eval ../shared/eval/squad2-mini --limit 200

corpora:
	$(PY) scripts/make_corpora.py

clean-db:
	$(DOCDUET) db stop
