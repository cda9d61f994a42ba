"""Publish a provider record as a practice system would (development aid).

python -m shared.publish_provider --practice pr1 --provider p1 [--inactive]
"""

import argparse
import asyncio

from shared.events.providers import ProviderRecordChanged
from shared.publish_client import publish


def main() -> None:
    """Parse the arguments and publish."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--practice", required=True)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--inactive", action="store_true")
    args = parser.parse_args()
    record = ProviderRecordChanged(
        practice_id=args.practice,
        provider_id=args.provider,
        status="inactive" if args.inactive else "active",
    )
    asyncio.run(publish(record))
    print(f"published provider {args.provider}")


if __name__ == "__main__":
    main()
