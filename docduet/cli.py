"""The ``docduet`` command: one entry point, subcommands registered by ``docduet.commands``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from core.errors import DocduetError
from docduet.commands import COMMANDS
from docduet.environment import quiet_third_parties

log = logging.getLogger("docduet")


def configure_logging(verbose: int) -> None:
    """Logs go to stderr; -v for INFO, -vv for DEBUG. Third-party noise stays at WARNING."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "urllib3", "unstructured", "sentence_transformers", "grpc"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docduet",
        description="Chat with your company's documents; every question answered by several "
        "models from the same passages, side by side (local models, and a hosted one once "
        "configured).",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    quiet_third_parties()
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.run(args) or 0)
    except DocduetError as e:
        log.debug("failed", exc_info=True)
        print(f"docduet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("docduet: interrupted; re-run the same command to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
