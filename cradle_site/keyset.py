"""Keyset pages for the owner's lists (publishing's queue and logs, the account's activity):
newest first by (field, id) (or soonest first, for what is still to come), "newer" / "older" links that carry the id of the row at the page's edge, so the last page costs what the first does
(no OFFSET, no COUNT). Ids come first, from the index, then the page's rows: the sort never
carries the wide columns (task JSON, log texts) of rows it skips."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet


@dataclass(frozen=True)
class KeysetPage:
    rows: list
    newer: int | None  # the id to pass as ?before= for the page above, or None on the first page
    older: int | None  # the id to pass as ?after= for the next page, or None on the last one

    def __iter__(self):
        return iter(self.rows)

    @property
    def has_other_pages(self) -> bool:
        return self.newer is not None or self.older is not None


def _edge(queryset: QuerySet, field: str, value: str | None):
    """The (field value, id) of the row a cursor names, or None: a bad or foreign id is
    the first page (the queryset is the owner's, so another user's id finds nothing)."""
    if not value or not value.isdigit() or len(value) > 18:
        return None
    return queryset.filter(pk=int(value)).values_list(field, "pk").first()


def _rows(queryset: QuerySet, ids: list[int]) -> list:
    by_pk = queryset.order_by().in_bulk(ids)
    return [by_pk[pk] for pk in ids if pk in by_pk]


def keyset_page(
    queryset: QuerySet, *, field: str, after: str | None, before: str | None, size: int, descending: bool = True
) -> KeysetPage:
    """One page of ``queryset`` ordered by (-field, -id), or (field, id) when not
    ``descending`` (the upcoming posts, soonest first): after an id (the next page) or before
    one (the previous page); the first page if neither names an owned row."""
    forward, back = ("lt", "gt") if descending else ("gt", "lt")
    forward_order = (f"-{field}", "-pk") if descending else (field, "pk")
    back_order = (field, "pk") if descending else (f"-{field}", "-pk")

    def beyond(op: str, value, pk: int) -> QuerySet:
        return queryset.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk}))

    if edge := _edge(queryset, field, before):
        ids = list(beyond(back, *edge).order_by(*back_order).values_list("pk", flat=True)[: size + 1])
        more = len(ids) > size
        ids = ids[:size][::-1]
        return KeysetPage(_rows(queryset, ids), newer=ids[0] if more else None, older=ids[-1] if ids else None)
    edge = _edge(queryset, field, after)
    rest = beyond(forward, *edge) if edge else queryset
    ids = list(rest.order_by(*forward_order).values_list("pk", flat=True)[: size + 1])
    more = len(ids) > size
    ids = ids[:size]
    return KeysetPage(_rows(queryset, ids), newer=ids[0] if edge and ids else None, older=ids[-1] if more else None)
