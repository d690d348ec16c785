"""The one way benchmarks write their results: stamped with time and machine, saved and printed."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def write_report(out: Path, **sections: Any) -> dict[str, Any]:
    """Write ``sections`` (plus when and on what) as JSON to ``out``, print it, and return it."""
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        **sections,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2)
    out.write_text(text + "\n")
    print(text)
    return report
