"""What answers cost: local compute priced by the hour, and the volume a month's cost is counted at."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from core.sections.base import Section, comma_list


class CostSettings(Section):
    """Prices of local compute and the monthly volume, for the cost figures of `docduet eval`.

    Hosted models are priced by their tokens (``price_prompt_per_1k`` in the generators file); a
    local model by the CPU core-seconds it measured while answering (each evaluation's seconds
    times the threads it ran with; answers recorded without them: seconds, queue wait left out,
    times its ``threads``) at ``compute_price_cpu_hour``, or by its seconds times one GPU at
    ``compute_price_gpu_hour`` when it is listed in ``compute_gpu_generators``.
    """

    compute_price_cpu_hour: float = Field(
        default=0.05,
        ge=0,
        description="US dollars per CPU core-hour of a local model's answering (about an on-demand "
        "cloud vCPU-hour in 2026); a model on 4 cores answering for one hour costs 4x this. "
        "Set your own machines' cost; 0 counts local compute as free.",
    )
    compute_price_gpu_hour: float = Field(
        default=2.5,
        ge=0,
        description="US dollars per GPU-hour, for the local generators in compute_gpu_generators "
        "(about an on-demand cloud data-centre GPU-hour in 2026).",
    )
    compute_gpu_generators: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Ids of local generators that answer on a GPU (comma list): their seconds are "
        "priced at compute_price_gpu_hour instead of per core.",
    )
    questions_per_month: int = Field(
        default=10_000,
        ge=1,
        description="Questions a month that docduet eval's report prices each generator at "
        "(besides per 1,000 questions).",
    )

    _list = field_validator("compute_gpu_generators", mode="before")(comma_list)
