"""Staff look before members do (SPACEDIGEST_REVIEW_HOURS): a preview to staff, members later unless
staff hold it; `digest --exclude ITEM_ID` takes an item out of the files and the mails."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from spacedigest.flows import jobs
from spacedigest.flows.settings import load_settings
from spacedigest.reports.subscribers import make_subscriber
from spacedigest.warehouse import db, load, records
from tests.conftest import LEGAL_ENV
from tests.test_alert import call


@pytest.fixture
def settings(tmp_path, mail_server, monkeypatch):
    smtp_url, box = mail_server
    for key, value in {**LEGAL_ENV, "SPACEDIGEST_HOME": str(tmp_path), "SPACEDIGEST_SMTP_URL": smtp_url,
                       "SPACEDIGEST_SITE_URL": "https://digest.example.org/", "SPACEDIGEST_REVIEW_HOURS": "3",
                       "SPACEDIGEST_STAFF_EMAIL": "staff@spacedigest.example"}.items():
        monkeypatch.setenv(key, value)
    now = datetime.now(timezone.utc)
    with db.writer(tmp_path) as con:
        for email in ("a@example.jp", "b@example.jp"):
            records.add_subscriber(con, make_subscriber(email), now=now)
        load.load_announcements(con, [call(1, "international"), call(2, "japan")], seen_at=now - timedelta(hours=1))
    return load_settings(), box


def test_staff_get_a_preview_and_members_the_digest_hours_later_unless_held(settings):
    settings, box = settings
    now = datetime.now(timezone.utc)
    built = jobs.build_digest(settings, now=now)
    review = jobs.start_review(settings, built.label, now=now)
    assert review.mailed_to == "staff@spacedigest.example" and box.recipients == ["staff@spacedigest.example"]
    assert "確認用" in str(box.to("staff@spacedigest.example")[0]["Subject"])
    assert jobs.release_due(settings, now=now + timedelta(hours=2)) == []  # not yet
    label, held = jobs.hold(settings)
    assert (label, held) == (built.label, True)
    assert jobs.release_due(settings, now=now + timedelta(hours=4)) == []  # held
    with pytest.raises(jobs.HeldError):
        jobs.send_digest(settings, label=built.label)
    jobs.hold(settings, release=True)
    reports = jobs.release_due(settings, now=now + timedelta(hours=4))
    assert [r.sent for r in reports] == [2] and sorted(box.recipients[1:]) == ["a@example.jp", "b@example.jp"]
    assert jobs.release_due(settings, now=now + timedelta(hours=5)) == []  # released once


def test_an_excluded_item_leaves_the_files_and_the_mails(settings):
    settings, box = settings
    built = jobs.build_digest(settings)
    ja = open(built.paths["ja"]["md"], encoding="utf-8").read()
    assert "Call 1" in ja and "Call 2" in ja
    with db.reader(settings.home) as con:
        item_id = con.execute("select id from items where title like 'Call 1%'").fetchall()[0][0]
    again = jobs.build_digest(settings, exclude=(item_id,))
    assert again.label == built.label and again.item_count == 1
    assert "Call 1" not in open(again.paths["ja"]["md"], encoding="utf-8").read()
    with pytest.raises(LookupError):
        jobs.build_digest(settings, exclude=("no-such-item",))
    jobs.send_digest(settings, label=built.label)
    text = box.to("a@example.jp")[0].get_body(("plain",)).get_content()
    assert "Call 2" in text and "Call 1" not in text
