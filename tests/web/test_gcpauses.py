"""A server process moves what survived a full collection out of the collector's sight, and
gives it back every RESCAN-th full pass, so that cycles among old objects are still found."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from web import gcpauses


@pytest.fixture
def installed() -> Iterator[None]:
    before = list(gc.callbacks)
    try:
        gcpauses.install()
        gcpauses.install()  # once only
        yield
    finally:
        gc.callbacks[:] = before
        gc.unfreeze()


def test_full_passes_freeze_the_survivors_and_every_rescan_th_gives_them_back(
    installed: None,
) -> None:
    ours = [cb for cb in gc.callbacks if isinstance(cb, gcpauses._FreezeAfterFullPasses)]
    assert len(ours) == 1
    assert gc.get_freeze_count() > 0  # the imports, frozen at install
    kept = [[i] for i in range(1000)]
    gc.collect(0)  # a young pass changes nothing
    frozen = gc.get_freeze_count()
    for _ in range(gcpauses.RESCAN - 1 - ours[0].passes % gcpauses.RESCAN):
        gc.collect()
    assert gc.get_freeze_count() >= frozen + len(kept)
    gc.collect()  # the RESCAN-th full pass
    assert gc.get_freeze_count() == 0


def test_a_cycle_among_frozen_objects_is_found_at_the_rescan(installed: None) -> None:
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    gc.collect()
    assert gc.get_freeze_count() > 0
    ids = {id(a), id(b)}
    del a, b  # now garbage, but frozen: no pass sees it
    for _ in range(gcpauses.RESCAN + 1):
        gc.collect()
    assert not ids & {id(o) for o in gc.get_objects() if type(o).__name__ == "Node"}
