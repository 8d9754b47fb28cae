"""The delivery ledger (real SQLite journal): one claim per (digest, subscriber), whoever asks at the
same time; claims of a dead process taken over at once, of another machine after their lease."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

from spacedigest.reports.subscribers import make_subscriber, token_hash
from spacedigest.warehouse import db, journal, ledger
from spacedigest.sources.models import Subscriber


def people(n: int) -> list[Subscriber]:
    from dataclasses import replace

    return [replace(make_subscriber(f"p{i}@example.org"), id=i + 1) for i in range(n)]


def test_concurrent_claims_share_the_work_and_never_overlap(tmp_path):
    subs = people(300)
    won: dict[str, list[int]] = {}

    def worker(name):
        with ledger.Claims(tmp_path, digest_id=7) as claims:  # each its own owner, as separate sends are
            won[name] = []
            for sub in claims.claimed(subs):
                won[name].append(sub.id)
                claims.finish(sub, sent=True, message_id=None, error=None)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in won.values() for i in ids]
    assert sorted(every) == [s.id for s in subs]  # each exactly once


def test_a_send_that_stops_gives_back_the_claims_it_holds(tmp_path):
    sub = people(1)[0]
    try:
        with ledger.Claims(tmp_path, digest_id=5) as claims:
            assert claims.claim(sub) is not None
            raise RuntimeError("building the message failed")
    except RuntimeError:
        pass
    with ledger.Claims(tmp_path, digest_id=5) as again:  # the same process retrying: not blocked
        assert again.claim(sub) is not None


def test_a_claim_carries_a_token_stored_as_its_hash(tmp_path):
    sub = people(1)[0]
    with ledger.Claims(tmp_path, digest_id=1) as claims:
        raw = claims.claim(sub)
    row = journal.find_token(tmp_path, token_hash(raw))
    assert row["email"] == sub.email and row["purpose"] == "mail"
    assert journal.find_token(tmp_path, raw) is None


def forge_claim(home, digest_id, subscriber_id, owner, lease_until):
    with journal.connect(home) as conn:
        conn.execute("INSERT INTO sends (digest_id, subscriber_id, state, owner, lease_until, at) "
                     "VALUES (?, ?, 'claimed', ?, ?, ?)",
                     [digest_id, subscriber_id, owner, journal.stamp(lease_until),
                      journal.stamp(datetime.now(timezone.utc))])


def test_another_machines_claim_waits_for_its_lease(tmp_path):
    sub = people(1)[0]
    now = datetime.now(timezone.utc)
    forge_claim(tmp_path, 3, sub.id, "other-host.example/4242/99/ab", now + timedelta(minutes=5))
    with ledger.Claims(tmp_path, digest_id=3) as claims:
        assert claims.claim(sub) is None and claims.busy == [sub.email]
        assert claims.claim(sub, now=now + timedelta(minutes=6)) is not None  # lease over: taken over


def test_a_dead_local_process_claims_are_taken_over_at_once(tmp_path):
    sub = people(1)[0]
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    owner = f"{socket.gethostname()}/{gone.pid}/12345/ab"
    forge_claim(tmp_path, 4, sub.id, owner, datetime.now(timezone.utc) + timedelta(minutes=10))
    assert ledger.owner_is_gone(owner)
    assert not ledger.owner_is_gone(ledger.owner_id())  # this process is alive
    with ledger.Claims(tmp_path, digest_id=4) as claims:
        assert claims.claim(sub) is not None


def test_final_answers_reach_the_warehouse_once(tmp_path):
    subs = people(3)
    with ledger.Claims(tmp_path, digest_id=9) as claims:
        for sub in claims.claimed(subs):
            if sub.id == 3:
                claims.release(sub)  # a temporary failure: retried next time
            else:
                claims.finish(sub, sent=sub.id == 1, message_id=f"<{sub.id}@x>", error=None if sub.id == 1 else "550")
        assert claims.done() == {1, 2}
    with db.writer(tmp_path) as con:
        assert ledger.move_results(con, tmp_path) == 2
        assert ledger.move_results(con, tmp_path) == 0
        rows = con.execute("select subscriber_id, status from deliveries order by 1").fetchall()
    assert rows == [(1, "sent"), (2, "rejected")]
    with ledger.Claims(tmp_path, digest_id=9) as claims:
        assert [s.id for s in claims.claimed(subs)] == [3]


def test_web_changes_are_applied_in_order_and_once(tmp_path):
    now = datetime.now(timezone.utc)
    form = {"name": "A", "company": "", "language": "ja", "organisations": [], "categories": [],
            "eligible_only": False, "frequency": "weekly", "consent": {"wording_version": "v1/ja", "client": "c"}}
    journal.record_change(tmp_path, "a@example.org", "subscribe", form, now=now)
    journal.record_change(tmp_path, "a@example.org", "preferences", {"language": "en", "paused": True}, now=now)
    journal.record_change(tmp_path, "nobody@example.org", "unsubscribe", {}, now=now)
    journal.record_change(tmp_path, "a@example.org", "preferences", {"categories": ["no-such"]}, now=now)
    seen = journal.subscriber_now(tmp_path, "a@example.org")  # before any writer: the overlay
    assert (seen.language, seen.paused) == ("en", True)
    with db.writer(tmp_path) as con:  # applies them
        row = con.execute("select language, paused, active from subscribers").fetchall()
        applied = con.execute("select id, kind, data from web_changes order by id").fetchall()
    assert row == [("en", True, True)]
    assert [a[:2] for a in applied] == [(1, "subscribe"), (2, "preferences"), (3, "unsubscribe"), (4, "preferences")]
    assert "not_applied" in json.loads(applied[3][2])  # an invalid change is recorded, not applied
    with db.writer(tmp_path) as con:
        assert con.execute("select count(*) from web_changes").fetchall() == [(4,)]
