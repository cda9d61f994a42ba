"""docs/ is what `python -m ops.docs` generates from the code: CI fails on stale docs."""

from pathlib import Path

from ops.docs.generate import ROOT, differences, render
from shared.topics import TOPICS


def test_committed_docs_match_the_generator() -> None:
    stale = differences(ROOT / "docs", render())
    assert not stale, f"docs/ is stale: {stale}; run `python -m ops.docs` and commit docs/"


def test_every_topic_has_a_page_with_schema_example_producers_and_consumers() -> None:
    for spec in TOPICS:
        page = (ROOT / "docs" / "topics" / f"{spec.name}.md").read_text()
        for part in (
            "| key |",
            "### Value schema",
            "### Example",
            "| producers |",
            "| consumers |",
        ):
            assert part in page, (spec.name, part)


def test_problem_codes_include_each_services_table_and_the_gateway() -> None:
    problems = (Path(ROOT) / "docs" / "problems.md").read_text()
    for code in (
        "messaging_disabled",
        "blocked",
        "payload_too_large",
        "rate_limited",
        "unauthorized",
    ):
        assert f"| `{code}` |" in problems, code
    assert "| gateway |" in problems
