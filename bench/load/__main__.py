"""``python -m bench.load``."""

from bench.load.harness import main

main()
