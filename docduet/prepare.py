"""Set-up's model step: assemble every enabled local model from its package and check its sha256.

``scripts/setup.sh`` runs ``python -m docduet.prepare`` once the packages are installed, so the
first question does not wait for the GGUFs to be joined and checked; this lives in a module (not
a here-document in the script) so the linters and the tests see it.
"""

from __future__ import annotations

from collections.abc import Callable

from backends.llama_cpp.packaged import resolve_model
from backends.sentence_transformers import default_embedding_model_path
from chat.generators import enabled_specs
from core.settings import Settings


def prepare(settings: Settings, say: Callable[[str], None] = print) -> None:
    """Resolve the embedding model and every enabled llama.cpp generator's model file."""
    say(f"embedding model: {default_embedding_model_path()}")
    for spec in enabled_specs(settings):
        if spec.kind == "llama_cpp":
            path = resolve_model(str(spec.options["model"]), settings.paths.cache_dir)
            say(f"generator {spec.id}: {path}")


def main() -> None:
    prepare(Settings())


if __name__ == "__main__":
    main()
