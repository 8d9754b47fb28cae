"""The short daily alert: new calls a Japanese company may apply to, mailed (exactly once, with the
legal footer) to the subscribers who chose it and have such a call among their choices. Real
warehouse, journal and SMTP server; no Prefect."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from spacedigest.flows import jobs
from spacedigest.flows.settings import load_settings
from spacedigest.reports.subscribers import make_subscriber
from spacedigest.sources.models import Announcement
from spacedigest.warehouse import db, load, records
from tests.conftest import LEGAL_ENV


def call(n: int, eligibility: str, category: str = "funding", organisation: str = "ESA") -> Announcement:
    now = datetime.now(timezone.utc)
    return Announcement(
        source_id="esa-business", organisation=organisation, entry_key=f"c{n}", title=f"Call {n} ({eligibility})",
        url=f"https://business.esa.int/call-{n}", guid=f"c{n}", summary="Apply now.", published_at=now - timedelta(hours=2),
        published_estimated=False, language="en", content_hash=f"h{n}", category=category, status="open",
        deadline=(now + timedelta(days=40)).date(), deadline_kind="date", eligibility=eligibility)


def test_the_daily_alert_goes_to_those_who_asked_and_have_a_call(tmp_path, mail_server, monkeypatch):
    smtp_url, box = mail_server
    for key, value in {**LEGAL_ENV, "SPACEDIGEST_HOME": str(tmp_path), "SPACEDIGEST_SMTP_URL": smtp_url,
                       "SPACEDIGEST_SITE_URL": "https://digest.example.org/"}.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    now = datetime.now(timezone.utc)
    with db.writer(tmp_path) as con:
        records.add_subscriber(con, make_subscriber("daily@example.jp", frequency="weekly+daily"), now=now)
        records.add_subscriber(con, make_subscriber("weekly@example.jp"), now=now)
        records.add_subscriber(con, make_subscriber("events@example.jp", categories=["event"],
                                                    frequency="weekly+daily"), now=now)
        load.load_announcements(con, [call(1, "international"), call(2, "japan"), call(3, "restricted"),
                                      call(4, "unknown")], seen_at=now - timedelta(hours=1))

    built = jobs.build_alert(settings)
    assert built.item_count == 2
    report = jobs.send_digest(settings, label=built.label, kind="alert")
    assert report.sent == 1 and box.recipients == ["daily@example.jp"]
    alert = box.to("daily@example.jp")[0]
    assert "新着公募アラート" in str(alert["Subject"]) and alert["List-Unsubscribe"]
    text = alert.get_body(("plain",)).get_content()
    assert "Call 1 (international)" in text and "Call 2 (japan)" in text
    assert "restricted" not in text and "unknown)" not in text
    assert LEGAL_ENV["SPACEDIGEST_POSTAL_ADDRESS"] in text and "https://digest.example.org/unsubscribe?token=" in text

    again = jobs.send_digest(settings, label=built.label, kind="alert")  # the same alert: nothing twice
    assert again.sent == 0 and again.skipped == 1
    tomorrow = jobs.build_alert(settings, now=datetime.now(timezone.utc) + timedelta(minutes=1))
    assert tomorrow.item_count == 0  # only calls first seen since the previous alert
    assert jobs.send_digest(settings, label=tomorrow.label, kind="alert").sent == 0
    # the weekly digest does not mistake an alert for itself
    weekly = jobs.build_digest(settings)
    assert jobs.send_digest(settings).label == weekly.label
