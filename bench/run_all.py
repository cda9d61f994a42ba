"""Run every benchmark and print its figures (`make bench`)."""

import asyncio
import importlib
import os

BENCHMARKS = ["bench.messages", "bench.fanout"]


def main() -> None:
    """Each benchmark in turn; a missing infrastructure variable is an error."""
    for var in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL"):
        if not os.environ.get(var):
            raise SystemExit(f"{var} is not set: run `make bench`")
    for name in BENCHMARKS:
        print(f"== {name}")
        asyncio.run(importlib.import_module(name).main())


if __name__ == "__main__":
    main()
