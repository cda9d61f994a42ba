"""Cursor pages of newest-first lists: the query a list takes and the cursor it answers."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from shared.pagination import MAX_LIMIT, after_key, encode_cursor


@dataclass(frozen=True)
class PageQuery:
    """How many items a list wants, and the cursor it resumes from (still undecoded)."""

    limit: int
    cursor: str | None

    @property
    def after(self) -> str | None:
        """The sort key the page starts after (a 422 problem for a forged cursor)."""
        return after_key(self.cursor)


def _page_query(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20, cursor: str | None = None
) -> PageQuery:
    return PageQuery(limit, cursor)


PageQueryDep = Annotated[PageQuery, Depends(_page_query)]


def next_cursor(after: str | None) -> str | None:
    """The cursor of the next page, starting after this sort key (None on the last page)."""
    return encode_cursor({"k": after}) if after is not None else None
