#!/usr/bin/env bash
# Regenerate requirements/lock.txt from a working .venv (after changing requirements/base.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Full transitive lock (pip freeze of a working .venv). Regenerate with scripts/lock.sh."
  echo "# llama-cpp-python and unstructured-inference are installed by scripts/setup.sh (built / --no-deps)."
  echo "# The model packages are pinned in requirements/models.txt (installed --no-deps)."
  .venv/bin/pip freeze --exclude-editable \
    | grep -viE "^(llama[-_]cpp[-_]python|unstructured[-_]inference|docduet)==" \
    | grep -vixF -f <(grep -v '^#' requirements/models.txt)
} > requirements/lock.txt
