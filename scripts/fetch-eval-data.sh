#!/usr/bin/env bash
# Fetch the public evaluation sets (SciFact, SQuAD 2.0 dev articles, the 18F handbook, unstructured's
# sample files) into DOCDUET_EVAL_DATA, each file checked against scripts/eval-data.sha256.
# Options: --dest DIR, --sets a,b, --timeout S, --check. Details: scripts/fetch_eval_data.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="$here/../.venv/bin/python"
[ -x "$py" ] || py="$(command -v python3)"
exec "$py" "$here/fetch_eval_data.py" "$@"
