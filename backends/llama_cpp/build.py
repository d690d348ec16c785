"""A ``llama_cpp`` generator from its entry in the generators file: options checked, the model
resolved (a packaged name or a GGUF path), a derived quantization planned."""

from __future__ import annotations

from pydantic import ValidationError

from backends.llama_cpp.derived import plan_derived
from backends.llama_cpp.generator import LlamaCppGenerator
from backends.llama_cpp.options import LlamaCppOptions
from backends.llama_cpp.packaged import CATALOGUE, resolve_model
from chat.generators.spec import GeneratorSpec
from core.errors import ConfigError
from core.settings import Settings


def build_llama_cpp(spec: GeneratorSpec, settings: Settings) -> LlamaCppGenerator:
    """A ``llama_cpp`` generator from its spec; the model file is checked now, loaded on first use."""
    try:
        options = LlamaCppOptions(**spec.options)
    except ValidationError as e:
        raise ConfigError(f"generator {spec.id!r} (llama_cpp) is misconfigured: {e}") from e
    path = resolve_model(options.model, settings.paths.cache_dir)
    packaged = CATALOGUE.get(options.model) or next(  # a packaged model's assembled copy, by path
        (m for m in CATALOGUE.values() if path.name == f"{m.name}.gguf"), None
    )
    model_title = packaged.title if packaged else path.name
    derived = None
    if options.quantize != "none":
        derived = plan_derived(
            options.model, path, options.quantize, settings.paths.cache_dir, threads=options.threads
        )
        path, model_title = derived.path, f"{model_title} → {options.quantize.upper()}"
    return LlamaCppGenerator(
        path,
        n_ctx=options.n_ctx,
        n_threads=options.threads,
        max_tokens=spec.max_tokens,
        prompt_format=options.prompt_format,
        repeat_penalty=options.repeat_penalty,
        examples=options.examples,
        pool_size=options.pool_size,
        queue_timeout_s=options.queue_timeout_s,
        self_check=options.self_check,
        samples=options.samples,
        share_cores=options.share_cores,
        flash_attn=options.flash_attn,
        run_alone=options.run_alone,
        prompt_lookup=options.draft_tokens if options.draft == "prompt_lookup" else 0,
        prepare=derived.prepare if derived else None,
        name=spec.id,
        label=f"{spec.title} · {model_title}",
        max_sensitivity=spec.max_sensitivity,
    )
