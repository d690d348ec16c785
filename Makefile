# docduet developer entry points. `make run` and `make test` each do the whole set-up first
# (idempotent, cached), so on a fresh machine they are the only two commands needed.
.PHONY: setup run test test-unit lint bench eval-data eval-retrieval eval-answers corpora clean-db

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
	.venv/bin/mypy core backends docduet ingest retrieval chat ui slackbot evaluation bench
	PYTHONPATH=. .venv/bin/lint-imports

bench: setup
	$(DOCDUET) bench

# The public evaluation sets, into DOCDUET_EVAL_DATA (default: ../shared/eval beside the checkout
# when it exists, else ~/.cache/docduet/eval), every file sha256-checked; present sets are only checked.
eval-data:
	@bash scripts/fetch-eval-data.sh

eval-retrieval: setup
	@bash scripts/fetch-eval-data.sh --sets scifact
	$(DOCDUET) eval scifact

eval-answers: setup
	@bash scripts/fetch-eval-data.sh --sets squad2-mini
	$(DOCDUET) eval squad2-mini --limit 200

corpora:
	$(PY) scripts/make_corpora.py

clean-db:
	$(DOCDUET) db stop
