"""The LTI tables on SQLite and PostgreSQL: a nonce is used once, an attempt number is taken
once, a link's line item is claimed once, a passback seat is held by one sender."""

from __future__ import annotations

import uuid
from datetime import timedelta

from store import Store
from store.db import now
from store.lti import Launch, LtiStore
from web.lti.launch import launch_row


def a_launch(lti: LtiStore, user: str = "u1") -> Launch:
    p = lti.register(
        "https://lms.example.edu", "c1", ["d1"], "https://lms.example.edu/a",
        "https://lms.example.edu/t", "https://lms.example.edu/j",
    )  # fmt: skip
    return Launch(
        uuid.uuid4().hex, p.id, "d1", "LtiResourceLinkRequest", "ctx", "link", user, None,
        ("Learner",), {"template": "rnn-forward"}, "https://lms.example.edu/li/1",
        None, ("score",), None, None, now(),
    )  # fmt: skip


def test_a_nonce_is_used_once_and_a_refused_launch_stores_nothing(store: Store) -> None:
    lti = LtiStore(store)
    la = a_launch(lti)
    assert lti.accept_launch("n1", launch_row(la))
    again = launch_row(a_launch(lti))
    before = lti.counts()
    assert not lti.accept_launch("n1", again)
    assert lti.counts() == before


def test_an_attempt_number_is_taken_once_with_its_score(store: Store) -> None:
    lti = LtiStore(store)
    la = a_launch(lti)
    lti.accept_launch("n2", launch_row(la))
    row = {
        "template": "rnn-forward", "version": 2, "seed": 1, "params": None, "points": None,
        "response": "{}", "result": "{}", "score_given": 0.0, "score_maximum": 2.0,
        "submitted_at": now(),
    }  # fmt: skip
    first = lti.add_attempt(la, 1, row, (0.0, 2.0))
    assert first is not None and first[1] is not None  # the attempt and its score to send
    assert lti.add_attempt(la, 1, row, (1.0, 2.0)) is None
    assert len(lti.passbacks()) == 1  # the refused attempt's score is not kept either


def test_one_sender_per_seat_and_never_an_older_score_after_a_newer(store: Store) -> None:
    lti = LtiStore(store)
    la = a_launch(lti)
    lti.accept_launch("n3", launch_row(la))
    lease = timedelta(seconds=60)
    first = lti.add_passback(la, 1.0, 2.0)
    assert lti.claim_passback(first, lease) == "go"
    second = lti.add_passback(la, 2.0, 2.0)
    assert lti.claim_passback(second, lease) == "busy"
    lti.set_passback(first, status="sent")
    assert lti.claim_passback(second, lease) == "go"
    lti.set_passback(second, status="pending")
    lti.add_passback(la, 2.0, 2.0)
    assert lti.claim_passback(second, lease) == "superseded"
    stale = lti.add_passback(la, 2.0, 2.0)
    assert lti.claim_passback(stale, timedelta(seconds=-1)) == "go"  # a lease already run out
    assert stale in lti.due_passbacks()  # so another server takes it over


def test_a_links_line_item_is_claimed_once(store: Store) -> None:
    lti = LtiStore(store)
    la = a_launch(lti)
    lti.accept_launch("n4", launch_row(la))
    row = lti.passback(lti.add_passback(la, 1.0, 2.0))
    assert lti.claim_line_item(row) == (True, None)
    assert lti.claim_line_item(row) == (False, None)
    lti.set_line_item(row, "https://lms.example.edu/li/9")
    assert lti.claim_line_item(row) == (False, "https://lms.example.edu/li/9")


def test_a_new_score_supersedes_the_seats_pending_ones_as_it_is_stored(store: Store) -> None:
    lti = LtiStore(store)
    la = a_launch(lti)
    other = a_launch(lti, "u2")
    lease = timedelta(seconds=60)
    sending = lti.add_passback(la, 0.0, 2.0)
    assert lti.claim_passback(sending, lease) == "go"
    first = lti.add_passback(la, 1.0, 2.0)
    theirs = lti.add_passback(other, 1.0, 2.0)
    second = lti.add_passback(la, 2.0, 2.0)
    status = {r.id: r.status for r in lti.passbacks()}
    # The one being sent is left to its sender; another user's score is not touched.
    assert status == {sending: "sending", first: "superseded", theirs: "pending", second: "pending"}
    assert lti.claim_passback(first, lease) == "superseded"
    assert lti.passback(first).next_try_at is None and first not in lti.due_passbacks()
