"""python -m ops.docs [--out docs] [--check]: write docs/, or fail when it is stale."""

import argparse
import sys
from pathlib import Path

from ops.docs.generate import ROOT, differences, render, write


def main(argv: list[str] | None = None) -> int:
    """Generate the docs; with --check, only report what differs (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    pages = render()
    if args.check:
        stale = differences(args.out, pages)
        for name in stale:
            print(f"stale: docs/{name}", file=sys.stderr)
        if stale:
            print("run `python -m ops.docs` and commit docs/", file=sys.stderr)
        return 1 if stale else 0
    write(args.out, pages)
    print(f"wrote {len(pages)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
