"""Waits until every given URL answers 200, printing which ones never did."""

import argparse
import sys
import time

import httpx


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    pending = list(args.urls)
    while pending and time.monotonic() < deadline:
        for url in list(pending):
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    print(f"[services] ready: {url}", file=sys.stderr)
                    pending.remove(url)
            except httpx.HTTPError:
                pass
        if pending:
            time.sleep(0.3)
    if pending:
        print(f"[services] not ready after {args.timeout}s: {pending}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
