"""The subscribers' web app under real uvicorn on 127.0.0.1, with a real SMTP server (aiosmtpd), the
real journal and warehouse: sign-up with double opt-in, preferences, one-click unsubscribe as a mail
provider sends it, and hostile requests (forged and reused tokens, missing CSRF, floods, markup)."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from spacedigest.flows import jobs
from spacedigest.flows.settings import load_settings
from spacedigest.reports.subscribers import make_subscriber
from spacedigest.warehouse import db, journal, records
from tests.conftest import LEGAL_ENV
from tests.webapp import ThreadedApp, client, form_fields, title

MARKUP = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'


@pytest.fixture
def site(tmp_path, mail_server, monkeypatch):
    """Settings for a home with two subscribers and the app serving them; yields (settings, app, box)."""
    smtp_url, box = mail_server
    for key, value in {**LEGAL_ENV, "SPACEDIGEST_HOME": str(tmp_path / "home"), "SPACEDIGEST_SMTP_URL": smtp_url,
                       "SPACEDIGEST_SITE_URL": "https://digest.example.org/"}.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    now = datetime.now(timezone.utc)
    with db.writer(settings.home) as con:
        for email, lang in (("taro@example.jp", "ja"), ("jo@example.com", "en")):
            records.add_subscriber(con, make_subscriber(email, "Taro", lang), now=now)
    with ThreadedApp(settings) as app:
        yield settings, app, box


def send_now(settings, label=None):
    built = jobs.build_digest(settings)
    return built, jobs.send_digest(settings, label=label or built.label)


def links_in(message) -> dict[str, str]:
    text = message.get_body(("plain",)).get_content()
    found = dict(re.findall(r"https://digest\.example\.org/(unsubscribe|preferences)\?token=([\w-]+)", text))
    return found


def local(path_and_token: tuple[str, str]) -> str:
    return f"/{path_and_token[0]}?token={path_and_token[1]}"


def test_every_mail_carries_the_legal_footer_and_its_own_links(site):
    settings, app, box = site
    _, report = send_now(settings)
    assert report.sent == 2 and not report.missing
    taro, jo = box.to("taro@example.jp")[0], box.to("jo@example.com")[0]
    for message in (taro, jo):
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for value in (LEGAL_ENV["SPACEDIGEST_SENDER_NAME"], LEGAL_ENV["SPACEDIGEST_POSTAL_ADDRESS"],
                      LEGAL_ENV["SPACEDIGEST_CONTACT_EMAIL"]):
            assert value in text and value in html
        header_token = re.search(r"token=([\w-]+)>", message["List-Unsubscribe"])[1]
        assert links_in(message)["unsubscribe"] == header_token  # the body's link is the subscriber's own
        assert "TOKENSLOT" not in text + html and "example.invalid" not in text + html
    assert links_in(taro)["unsubscribe"] != links_in(jo)["unsubscribe"]
    # the tokens are stored as hashes only
    raw = links_in(taro)["unsubscribe"]
    with journal.connect(settings.home) as conn:
        stored = [r[0] for r in conn.execute("select hash from tokens")]
    assert raw not in stored and all(len(h) == 64 for h in stored)


def test_send_names_the_missing_legal_settings_and_sends_nothing(site, monkeypatch):
    settings, app, box = site
    monkeypatch.delenv("SPACEDIGEST_POSTAL_ADDRESS")
    monkeypatch.delenv("SPACEDIGEST_SITE_URL")
    bare = load_settings()
    built = jobs.build_digest(bare)
    with pytest.raises(jobs.MissingSettingsError) as refused:
        jobs.send_digest(bare, label=built.label)
    assert "SPACEDIGEST_POSTAL_ADDRESS" in str(refused.value) and "SPACEDIGEST_SITE_URL" in str(refused.value)
    assert "SPACEDIGEST_CONTACT_EMAIL" not in str(refused.value)
    assert box.messages == []
    # without a public address, mail links point at the web app itself (no placeholder)
    assert bare.site_url == f"http://127.0.0.1:{bare.web_port}/"


def test_one_click_post_as_a_mail_provider_sends_it_then_nothing_more(site):
    settings, app, box = site
    first, _ = send_now(settings)
    unsubscribe = links_in(box.to("taro@example.jp")[0])["unsubscribe"]
    http = client(app.url)
    page = http.get(f"/unsubscribe?token={unsubscribe}")  # what a link scanner does: changes nothing
    assert page.status_code == 200 and 'type="submit"' in page.text
    assert journal.subscriber_now(settings.home, "taro@example.jp").active
    # RFC 8058: POST to the List-Unsubscribe URL, body List-Unsubscribe=One-Click, no cookie, no CSRF
    provider = client(app.url)
    done = provider.post(f"/unsubscribe?token={unsubscribe}", content=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200, done.text
    assert journal.subscriber_now(settings.home, "taro@example.jp").active is False
    again = provider.post(f"/unsubscribe?token={unsubscribe}", files={"List-Unsubscribe": (None, "One-Click")})
    assert again.status_code == 200  # multipart/form-data (RFC 8058 allows it); twice is harmless

    box.messages.clear()
    later = jobs.build_digest(settings, now=datetime.now(timezone.utc) + timedelta(minutes=2))
    report = jobs.send_digest(settings, label=later.label)
    assert box.recipients == ["jo@example.com"] and report.sent == 1
    with duckdb.connect(str(db.warehouse_path(settings.home)), read_only=True) as con:
        assert con.execute("select event, method from consents where email = 'taro@example.jp' "
                           "order by id").fetchall() == [("withdrawn", "one-click")]


def test_sign_up_double_opt_in_and_preferences(site):
    settings, app, box = site
    http = client(app.url)
    form = http.get("/subscribe")
    assert form.status_code == 200 and "同意します" in form.text
    fields = form_fields(form.text)
    sent = http.post("/subscribe", data={**fields, "email": "Hanako@Example.JP", "name": "花子", "company": "宇宙商事",
                                         "language": "ja", "categories": ["funding", "tender"], "consent": "yes",
                                         "frequency": "weekly+daily"})
    assert sent.status_code == 200 and title(sent.text) == "確認メールをお送りしました"
    wait_for(lambda: box.to("hanako@example.jp"))
    confirmation = box.to("hanako@example.jp")[0].get_content()
    link = re.search(r"https://digest\.example\.org/(confirm\?token=[\w-]+&lang=ja)", confirmation)[1]
    assert journal.subscriber_now(settings.home, "hanako@example.jp") is None  # not before confirming

    button = http.get("/" + link)
    assert button.status_code == 200 and journal.subscriber_now(settings.home, "hanako@example.jp") is None
    confirmed = http.post("/confirm", data=form_fields(button.text))
    assert confirmed.status_code == 200 and title(confirmed.text) == "申し込みが完了しました"
    hanako = journal.subscriber_now(settings.home, "hanako@example.jp")
    assert hanako.active and hanako.frequency == "weekly+daily" and hanako.categories == ["funding", "tender"]

    preferences = re.search(r'href="(/preferences\?token=[\w-]+)"', confirmed.text)[1]
    english = http.get(preferences + "&lang=en")
    assert title(english.text) == "Preferences" and 'lang="en"' in english.text
    page = http.get(preferences)
    assert page.status_code == 200 and 'value="funding" checked' in page.text and title(page.text) == "配信設定"
    saved = http.post("/preferences", data={**form_fields(page.text), "language": "en", "eligible_only": "yes",
                                            "frequency": "weekly", "paused": "yes"})
    assert saved.status_code == 200 and 'id="saved"' in saved.text
    hanako = journal.subscriber_now(settings.home, "hanako@example.jp")
    assert (hanako.language, hanako.eligible_only, hanako.frequency, hanako.paused) == ("en", True, "weekly", True)

    box.messages.clear()
    _, report = send_now(settings)  # paused: nothing for her; the runs applied the journal first
    assert "hanako@example.jp" not in box.recipients and report.sent == 2
    with duckdb.connect(str(db.warehouse_path(settings.home)), read_only=True) as con:
        row = con.execute("select language, paused, company from subscribers where email = 'hanako@example.jp'").fetchone()
        consent = con.execute("select method, wording_version, source from consents "
                              "where email = 'hanako@example.jp'").fetchall()
    assert row == ("en", True, "宇宙商事")
    assert consent == [("web-form", "2026-12-03/ja", "127.0.0.1")]


def wait_for(condition, timeout: float = 10.0):
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_forged_and_reused_tokens_get_a_clear_4xx(site):
    settings, app, box = site
    http = client(app.url)
    for token in ("", "x", secrets.token_urlsafe(24), "' OR 1=1 --", "a" * 5000, "%00%0d%0a", "<script>x</script>"):
        for path in ("/unsubscribe", "/preferences", "/confirm"):
            for method in ("GET", "POST"):
                answer = http.request(method, path, params={"token": token})
                assert 400 <= answer.status_code < 500, (method, path, token[:20], answer.status_code)
                assert "Traceback" not in answer.text and "<script>x" not in answer.text
    # a confirmation link works once
    fields = form_fields(http.get("/subscribe").text)
    http.post("/subscribe", data={**fields, "email": "once@example.org", "consent": "yes"})
    wait_for(lambda: box.to("once@example.org"))
    link = re.search(r"confirm\?token=[\w-]+", box.to("once@example.org")[0].get_content())[0]
    button = http.get("/" + link)
    assert http.post("/confirm", data=form_fields(button.text)).status_code == 200
    reused = http.post("/confirm", data=form_fields(button.text))
    assert reused.status_code == 410 and "使用済み" in reused.text
    assert http.get("/" + link).status_code == 410
    # a confirmation token is no key to preferences or unsubscribe, and a mail's token confirms nothing
    token = link.split("=", 1)[1]
    assert http.get(f"/preferences?token={token}").status_code == 404
    send_now(settings)
    mail_token = links_in(box.to("taro@example.jp")[-1])["unsubscribe"]
    http.post(f"/unsubscribe?token={mail_token}", data={"List-Unsubscribe": "One-Click"})
    fields = {**form_fields(button.text), "token": mail_token}
    assert http.post("/confirm", data=fields).status_code == 404
    assert http.get(f"/confirm?token={mail_token}").status_code == 404
    assert journal.subscriber_now(settings.home, "taro@example.jp").active is False


def test_forms_refuse_a_post_without_its_csrf_token(site):
    settings, app, box = site
    _, _ = send_now(settings)
    preferences = links_in(box.to("jo@example.com")[0])["preferences"]
    http = client(app.url)
    page = http.get(f"/preferences?token={preferences}")
    fields = form_fields(page.text)
    attacker = client(app.url)  # another browser: no cookie
    for data, who in (({"token": preferences, "language": "ja"}, http),
                      ({**fields, "language": "ja"}, attacker),
                      ({**fields, "csrf": fields["csrf"][:-2] + "xx", "language": "ja"}, http)):
        refused = who.post("/preferences", data=data)
        assert refused.status_code == 403 and "再読み込み" not in refused.text or refused.status_code == 403
    assert journal.subscriber_now(settings.home, "jo@example.com").language == "en"
    assert http.post("/subscribe", data={"email": "x@example.org", "consent": "yes"}).status_code == 403
    assert box.to("x@example.org") == []
    # a one-click-less POST to unsubscribe without CSRF changes nothing either
    unsubscribe = links_in(box.to("jo@example.com")[0])["unsubscribe"]
    assert attacker.post(f"/unsubscribe?token={unsubscribe}", data={"x": "1"}).status_code == 403
    assert journal.subscriber_now(settings.home, "jo@example.com").active


def test_a_hundred_sign_ups_for_one_address_send_a_handful_of_mails(site):
    settings, app, box = site
    http = client(app.url)
    fields = form_fields(http.get("/subscribe").text)
    answers = set()
    for n in range(100):
        # each from its own client address, as a botnet would (the per-address limit must hold alone)
        answer = http.post("/subscribe", data={**fields, "email": "victim@example.org", "consent": "yes"},
                           headers={"X-Forwarded-For": f"198.51.100.{n}"})
        answers.add((answer.status_code, title(answer.text)))
    import time

    time.sleep(0.5)
    assert answers == {(200, "確認メールをお送りしました")}
    assert 1 <= len(box.to("victim@example.org")) <= 3
    # a known address gets the same answer (no enumeration); its mail is its preferences link
    known = http.post("/subscribe", data={**fields, "email": "taro@example.jp", "consent": "yes"})
    assert (known.status_code, title(known.text)) == (200, "確認メールをお送りしました")
    wait_for(lambda: box.to("taro@example.jp"))
    assert "preferences?token=" in box.to("taro@example.jp")[0].get_content()


def test_one_client_cannot_flood_many_addresses(site):
    settings, app, box = site
    http = client(app.url)
    fields = form_fields(http.get("/subscribe").text)
    codes = [http.post("/subscribe", data={**fields, "email": f"p{n}@example.org", "consent": "yes"}).status_code
             for n in range(25)]
    assert codes[:10] == [200] * 10 and set(codes[10:]) == {429}
    import time

    time.sleep(0.5)
    assert len(box.messages) == 10


def test_markup_in_every_field_is_shown_as_text(site):
    settings, app, box = site
    http = client(app.url)
    fields = form_fields(http.get("/subscribe").text)
    hostile = {"email": MARKUP, "name": MARKUP, "company": MARKUP, "language": MARKUP, "categories": MARKUP,
               "organisations": MARKUP, "eligible_only": MARKUP, "frequency": MARKUP, "consent": MARKUP,
               "consent_version": MARKUP}
    for data in (hostile, {**hostile, "email": "ok@example.org", "consent": "yes"}):
        answer = http.post(f"/subscribe?lang={MARKUP}", data={**fields, **data})
        assert answer.status_code in (200, 400), answer.status_code
        assert "<script>alert" not in answer.text and "<img src=x" not in answer.text
    ok = {**hostile, "email": "named@example.org", "consent": "yes", "language": "ja", "frequency": "weekly",
          "categories": "funding", "organisations": "ESA"}
    assert http.post("/subscribe", data={**fields, **ok}).status_code == 200
    wait_for(lambda: box.to("named@example.org"))
    link = re.search(r"confirm\?token=[\w-]+", box.to("named@example.org")[0].get_content())[0]
    confirmed = http.post("/confirm", data=form_fields(http.get("/" + link).text))
    page = http.get(re.search(r'href="(/preferences\?token=[\w-]+)"', confirmed.text)[1])
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    _, report = send_now(settings)
    message = box.to("named@example.org")[-1]
    assert message["To"].addresses[0].addr_spec == "named@example.org" and "\n" not in str(message["To"])
    assert "<script>alert" not in message.get_body(("html",)).get_content()


def test_bad_requests_are_clear_4xx_pages_with_the_security_headers(site):
    settings, app, box = site
    http = client(app.url)
    cases = [
        ("GET", "/no-such-page", {}, 404),
        ("DELETE", "/subscribe", {}, 405),
        ("POST", "/subscribe", {"content": b"x" * 200_000, "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 413),
        ("POST", "/subscribe", {"content": b"--b\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=b"}}, 400),
        ("POST", "/subscribe", {"files": {"file": ("a.txt", b"data")}}, 400),
        ("GET", "/../../etc/passwd", {}, 404),
        ("GET", "/static/../../web.py", {}, 404),
    ]
    for method, path, extra, status in cases:
        answer = http.request(method, path, **extra)
        assert answer.status_code in (status, 403) if method == "POST" and status == 400 else answer.status_code == status, \
            (method, path, answer.status_code)
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert "Traceback" not in answer.text
    page = http.get("/subscribe")
    assert "script-src" not in page.headers["content-security-policy"] and "<script" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "SameSite=strict" in page.headers["set-cookie"] and "HttpOnly" in page.headers["set-cookie"]


def test_the_archive_feed_and_calendar_are_served_as_they_are(site):
    settings, app, box = site
    built = jobs.build_digest(settings)
    http = client(app.url)
    site_dir = settings.reports_dir / "site"
    for name in ("index.html", "feed.atom", "calendar.ics", f"{built.label}.ja.html"):
        answer = http.get(f"/{name}")
        assert answer.status_code == 200, name
        assert answer.content == (site_dir / name).read_bytes()
    assert http.get("/").content == (site_dir / "index.html").read_bytes()
    assert http.get("/feed.atom").headers["content-type"].startswith("application/atom+xml")
    assert http.get("/calendar.ics").headers["content-type"].startswith("text/calendar")


def test_tokens_mailed_before_the_migration_keep_working(tmp_path, mail_server, monkeypatch):
    """A warehouse at schema 004 with a raw token: 005 keeps only its hash, and the old link works."""
    home = tmp_path / "home"
    home.mkdir()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())")
    for version, name, sql in db.migrations():
        if version <= 4:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
    old_token = secrets.token_urlsafe(24)
    con.execute("INSERT INTO subscribers (email, name, token, created_at) VALUES ('old@example.org', 'Old', ?, now())",
                [old_token])
    con.close()
    for key, value in {**LEGAL_ENV, "SPACEDIGEST_HOME": str(home), "SPACEDIGEST_SMTP_URL": mail_server[0],
                       "SPACEDIGEST_SITE_URL": "https://digest.example.org/"}.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    with db.writer(home):
        pass
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        columns = [r[0] for r in con.execute("select column_name from information_schema.columns "
                                             "where table_name = 'subscribers'").fetchall()]
        stored = con.execute("select legacy_token_hash from subscribers").fetchall()
    assert "token" not in columns and old_token not in str(stored)
    with ThreadedApp(settings) as app:
        http = client(app.url)
        assert http.get(f"/preferences?token={old_token}").status_code == 200
        assert http.post(f"/unsubscribe?token={old_token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert journal.subscriber_now(home, "old@example.org").active is False


def test_behind_a_reverse_proxy_under_a_path(tmp_path, mail_server, monkeypatch):
    """SPACEDIGEST_SITE_URL=https://www.example.or.jp/digest/: the app answers under /digest/, its
    links and cookie stay there, and a proxy's X-Forwarded-Proto makes the cookie Secure."""
    for key, value in {**LEGAL_ENV, "SPACEDIGEST_HOME": str(tmp_path / "home"), "SPACEDIGEST_SMTP_URL": mail_server[0],
                       "SPACEDIGEST_SITE_URL": "https://www.example.or.jp/digest/"}.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    jobs.build_digest(settings)
    with ThreadedApp(settings) as app:
        http = client(app.url)
        page = http.get("/digest/subscribe", headers={"X-Forwarded-Proto": "https"})
        assert page.status_code == 200 and 'action="/digest/subscribe?lang=ja"' in page.text
        assert "Path=/digest/" in page.headers["set-cookie"] and "Secure" in page.headers["set-cookie"]
        assert http.get("/digest/index.html").status_code == 200
        assert http.get("/digest/static/web.css").headers["content-type"].startswith("text/css")
        missing = http.get("/subscribe")
        assert missing.status_code == 404 and missing.headers["referrer-policy"] == "no-referrer"


def test_a_confirmation_link_expires_after_48_hours(site):
    settings, app, box = site
    from spacedigest.reports.subscribers import new_token, token_hash

    raw = new_token()
    sent_at = datetime.now(timezone.utc) - timedelta(hours=48, minutes=1)
    with journal.connect(settings.home) as conn:
        journal.put_token(conn, token_hash(raw), "late@example.org", "confirm", now=sent_at,
                          expires_at=sent_at + timedelta(hours=48), data={"language": "ja"})
    http = client(app.url)
    assert http.get(f"/confirm?token={raw}").status_code == 410
    fields = form_fields(http.get("/subscribe").text)
    late = http.post("/confirm", data={"csrf": fields["csrf"], "token": raw})
    assert late.status_code == 410 and "48時間" in late.text
    assert journal.subscriber_now(settings.home, "late@example.org") is None
