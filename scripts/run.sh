#!/usr/bin/env bash
# The main job on the embedded default: local Weaviate, ingest corpora/, answer a sample question
# with the local SLM and (when configured) the hosted LLM side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOCDUET_USERS_FILE=${DOCDUET_USERS_FILE:-corpora/users.yaml}
DOCDUET=.venv/bin/docduet

$DOCDUET db start
# Exit status 1 means some files failed (reported above) while the rest was ingested.
$DOCDUET ingest corpora/ || [ $? -eq 1 ]
$DOCDUET compare "Which days are the office anchor days?" --user carol
echo
echo "Opening the web chat at http://127.0.0.1:8501 (sign in as a demo user in the sidebar; Ctrl-C stops it)."
# The demo picker (anyone can pick any user) is for this machine only: ui listens on 127.0.0.1.
DOCDUET_UI_DEMO_SIGNIN=${DOCDUET_UI_DEMO_SIGNIN:-1} exec $DOCDUET ui
