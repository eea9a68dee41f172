"""A server process moves what survived a full collection out of the collector's sight, and
gives it back every RESCAN-th full pass, so that cycles among old objects are still found.

The callback is driven by hand here: the collector also runs on its own (and an app started in
this process may have installed the callback already), so the tests do not count on its
passes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from web import gcpauses


@pytest.fixture
def clean_gc() -> Iterator[None]:
    before = list(gc.callbacks)
    gc.callbacks[:] = [cb for cb in before if not isinstance(cb, gcpauses._FreezeAfterFullPasses)]
    gc.unfreeze()
    try:
        yield
    finally:
        gc.callbacks[:] = before
        gc.unfreeze()


def test_install_freezes_the_imports_and_adds_one_callback(clean_gc: None) -> None:
    gcpauses.install()
    gcpauses.install()  # once only
    ours = [cb for cb in gc.callbacks if isinstance(cb, gcpauses._FreezeAfterFullPasses)]
    assert len(ours) == 1
    assert gc.get_freeze_count() > 0


def test_full_passes_freeze_the_survivors_and_every_rescan_th_gives_them_back(
    clean_gc: None,
) -> None:
    cb = gcpauses._FreezeAfterFullPasses()
    kept = [[i] for i in range(1000)]
    cb("start", {"generation": 2})
    cb("stop", {"generation": 0})  # a young pass changes nothing
    assert gc.get_freeze_count() == 0
    cb("stop", {"generation": 2})
    assert gc.get_freeze_count() >= len(kept)
    cb.passes = gcpauses.RESCAN - 1
    cb("stop", {"generation": 2})  # the RESCAN-th full pass
    assert gc.get_freeze_count() == 0


def test_a_cycle_frozen_with_the_survivors_is_found_after_the_rescan(clean_gc: None) -> None:
    class Node:
        other: Node

    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    cb = gcpauses._FreezeAfterFullPasses()
    cb("stop", {"generation": 2})  # a and b survived a full pass: frozen
    del a, b
    gc.collect()
    assert alive() is not None  # garbage, but out of the collector's sight
    cb.passes = gcpauses.RESCAN - 1
    cb("stop", {"generation": 2})  # the RESCAN-th full pass gives everything back
    gc.collect()
    assert alive() is None
