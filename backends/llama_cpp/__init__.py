"""The ``llama_cpp`` generator kind: local GGUF models through llama-cpp-python, and the models
that install from PyPI (``packaged``)."""
