"""The whole chain through the real `spacedigest` command and the real Prefect flows:
local HTTP server -> collect -> DuckDB -> digest -> send through a real SMTP server."""
from __future__ import annotations

import csv
import email
import email.policy
import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from spacedigest.sources.feed import parse_feed
from spacedigest.sources.models import Source
from spacedigest.sources.normalize import normalize

pytestmark = pytest.mark.slow  # see tests/conftest.py: the fast tier leaves these out


def catalog_toml(entries: list[tuple[str, str, str]], kind: str = "feed") -> str:
    """[(id, organisation, url)] -> catalog TOML."""
    blocks = []
    for sid, org, url in entries:
        blocks.append(f'[[source]]\nid = "{sid}"\norganisation = "{org}"\nkind = "{kind}"\nurl = "{url}"\n'
                      f'language = "en"\nenabled = true\n')
    return "\n".join(blocks)


def query_json(cli, sql: str):
    result = cli("query", sql, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def distinct_announcements(files: dict[str, bytes]) -> int:
    """Independent count of the announcements in a set of feeds, by the design's identity rules:
    within a source the entry key; across sources the same guid, or the same URL and title."""
    parent: dict[int, int] = {}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a, b):
        parent[find(a)] = find(b)

    seen_key, seen_guid, seen_url_title = {}, {}, {}
    n = 0
    for sid, body in files.items():
        source = Source(id=sid, organisation="X", kind="feed", url=f"http://127.0.0.1/{sid}")
        for a in normalize(parse_feed(body, url=source.url), source, fetched_at=datetime.now(timezone.utc)):
            parent[n] = n
            for table, key in ((seen_key, (sid, a.entry_key)),
                               (seen_guid, a.guid and (a.guid,)),
                               (seen_url_title, a.url and (a.url, a.title))):
                if not key:
                    continue
                if table is seen_guid and key in table and table[key][0] == sid:
                    continue  # a guid only joins entries of different sources
                if key in table:
                    union(n, table[key][1])
                else:
                    table[key] = (sid, n)
            n += 1
    return len({find(i) for i in range(n)})


@pytest.fixture
def corpus_site(real_feeds, http_server, tmp_path):
    files = {}
    for path in sorted((real_feeds / "feed").iterdir()):
        if path.name.startswith("feed_error_"):
            continue
        sid = path.stem.replace("_", "-").lower()
        body = path.read_bytes()
        files[sid] = body
        http_server.add(f"/{path.name}", body=body, content_type="application/xml",
                        etag=f'"{sid}-1"', last_modified="Mon, 02 Sep 2013 10:00:00 GMT")
    urls = [(sid, "Corpus", http_server.url(f"/{p}")) for sid, p in
            ((p.stem.replace("_", "-").lower(), p.name) for p in sorted((real_feeds / "feed").iterdir())
             if not p.name.startswith("feed_error_"))]
    catalog = tmp_path / "corpus.toml"
    catalog.write_text(catalog_toml(urls))
    return catalog, files


def test_real_corpus_collects_once_and_revalidates(cli, corpus_site):
    catalog, files = corpus_site
    env = {"SPACEDIGEST_SOURCES": str(catalog)}
    first = cli("collect", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Traceback" not in first.stdout + first.stderr
    expected = distinct_announcements(files)
    assert query_json(cli, "select count(*) as n from items") == [{"n": expected}]
    assert query_json(cli, "select count(*) as n from (select url, title from items where url is not null "
                           "group by all having count(*) > 1)") == [{"n": 0}]
    assert query_json(cli, "select count(*) as n from items where title is null or title = '' "
                           "or published_at is null") == [{"n": 0}]

    second = cli("collect", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    rows = query_json(cli, "select status, http_status, sum(items_new) as new, count(*) as n from fetches "
                           "where run_id = (select id from runs where kind = 'collect' order by started_at desc limit 1) "
                           "group by all")
    assert rows == [{"status": "not_modified", "http_status": 304, "new": 0, "n": len(files)}]


def fresh_feed(now: datetime, n: int = 3, prefix: str = "Call") -> bytes:
    items = "".join(
        f"<item><title>{prefix} {i}: ESA Business Applications funding for space start-ups</title>"
        f"<link>https://business.esa.int/funding/call-{prefix.lower()}-{i}</link><guid>urn:call:{prefix}:{i}</guid>"
        f"<description>Closing date: {(now + timedelta(days=20)).strftime('%d %B %Y')}. Open to companies "
        f"from Japan through the ESA-JAXA partnership.</description>"
        f"<pubDate>{format_datetime(now - timedelta(hours=i + 1))}</pubDate></item>"
        for i in range(n)
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>ESA Business</title>'
            f"<link>https://business.esa.int/</link>{items}</channel></rss>").encode()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    handler = Keep()
    from tests.conftest import _free_port

    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def test_run_delivers_each_subscriber_once_in_their_language(cli, http_server, smtp_server, tmp_path):
    controller, handler = smtp_server
    now = datetime.now(timezone.utc)
    http_server.add("/esa.xml", body=fresh_feed(now), etag='"v1"')
    catalog = tmp_path / "cat.toml"
    catalog.write_text(catalog_toml([("esa-business", "ESA", http_server.url("/esa.xml"))]))
    people = tmp_path / "people.csv"
    with people.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["email", "name", "language", "organisations"])
        w.writerow(["tanaka@example.jp", "田中 太郎", "ja", ""])
        w.writerow(["smith@example.com", "Jo Smith", "en", "ESA"])
    env = {"SPACEDIGEST_SOURCES": str(catalog), "SPACEDIGEST_FROM": "Digest <digest@spacedigest.example>",
           "SPACEDIGEST_SMTP_URL": f"smtp://127.0.0.1:{controller.port}"}

    imported = cli("subscribers", "import", str(people), "--consent", "名刺交換（書面同意）2026-11", env=env)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    run = cli("run", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "sent 2" in run.stdout
    assert len(handler.messages) == 2

    by_rcpt = {rcpts[0]: email.message_from_bytes(content, policy=email.policy.default)
               for rcpts, content in handler.messages}
    for address, lang_word in (("tanaka@example.jp", "締切"), ("smith@example.com", "Deadline")):
        msg = by_rcpt[address]
        assert msg.get_content_type() == "multipart/alternative"
        for header in ("Date", "Message-ID", "List-Unsubscribe", "Subject"):
            assert msg[header], header
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        for i in range(3):
            assert f"Call {i}: ESA Business Applications" in text
            assert f"Call {i}: ESA Business Applications" in html
        assert lang_word.lower() in (text + html).lower()
        assert "token=" in msg["List-Unsubscribe"]  # one-click, with the subscriber's own token
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in str(by_rcpt["tanaka@example.jp"]["Subject"]))

    assert by_rcpt["tanaka@example.jp"]["List-Unsubscribe"] != by_rcpt["smith@example.com"]["List-Unsubscribe"]

    again = cli("send", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "sent 0" in again.stdout
    assert len(handler.messages) == 2
    assert query_json(cli, "select count(*) as n from deliveries where status = 'sent'") == [{"n": 2}]
    consents = query_json(cli, "select email, event, method, source from consents order by email")
    assert consents == [{"email": e, "event": "given", "method": "csv-import", "source": "名刺交換（書面同意）2026-11"}
                        for e in ("smith@example.com", "tanaka@example.jp")]


def test_unreachable_sources_are_named_and_the_run_still_writes_a_digest(cli, tmp_path):
    catalog = tmp_path / "cat.toml"
    catalog.write_text(catalog_toml([("nowhere", "Nobody", "http://127.0.0.1:9/feed.xml"),
                                     ("nohost", "Nobody", "http://no-such-host.invalid/feed.xml")]))
    run = cli("run", env={"SPACEDIGEST_SOURCES": str(catalog)})
    out = run.stdout + run.stderr
    assert run.returncode == 3, out
    assert "Traceback" not in out
    assert "FAILED nowhere http://127.0.0.1:9/feed.xml: unreachable" in out
    assert "FAILED nohost http://no-such-host.invalid/feed.xml: unreachable" in out
    reports = list((cli.home / "reports").glob("*.ja.md"))
    assert reports and "今週の新着情報はありません" in reports[0].read_text(encoding="utf-8")


def test_bad_usage_exits_2_with_one_line(cli):
    bad = cli("collect", "--source", "no-such-source")
    assert bad.returncode == 2 and "unknown source id" in bad.stderr and "Traceback" not in bad.stderr
    week = cli("digest", "--week", "2024-W60")
    assert week.returncode == 2 and "Traceback" not in week.stderr


def week_of_calls(now: datetime) -> bytes:
    """A week as a member company reads it: calls it may and may not apply to, one already closed, an
    event and news."""
    def day(days: int) -> str:
        return (now + timedelta(days=days)).strftime("%d %B %Y")

    items = [
        ("may-japan", "Lunar logistics services: call for proposals open to Japanese companies",
         f"Japanese companies are eligible to apply, alone or with European partners. Deadline: {day(40)}."),
        ("may-world", "Global challenge: space for oceans",
         f"Start-ups from any country may apply. Prize of up to EUR 50,000. Applications close on {day(20)}."),
        ("restricted", "Kick-start: space for water resilience",
         f"Only companies established in ESA Member States may apply. Funding of EUR 75,000 per activity. "
         f"Deadline: {day(30)}."),
        ("silent", "Call for ideas: space for forests", f"Ideas can be submitted until {day(25)}."),
        ("closed", "Call for proposals: Moon habitats",
         f"Companies from any country could apply. The call closed on {day(-5)}."),
        ("event", "Webinar: how to apply to ESA Space Solutions",
         f"The webinar takes place online on {day(10)}. Register by {day(8)}."),
        ("news", "ESA selects ten start-ups for its incubation centres",
         "Ten companies were selected after the autumn round."),
    ]
    entries = "".join(
        f"<item><title>{title}</title><link>https://business.esa.int/{guid}</link><guid>urn:{guid}</guid>"
        f"<description>{text}</description><pubDate>{format_datetime(now - timedelta(hours=n + 1))}</pubDate></item>"
        for n, (guid, title, text) in enumerate(items))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>ESA Business</title>'
            f"<link>https://business.esa.int/</link>{entries}</channel></rss>").encode()


MAY_APPLY = ("Lunar logistics services", "Global challenge: space for oceans")
OTHERS = ("Kick-start: space for water resilience", "Call for ideas: space for forests",
          "Webinar: how to apply to ESA Space Solutions", "ESA selects ten start-ups")


def test_a_week_read_by_a_japanese_company(cli, http_server, smtp_server, tmp_path):
    """Issue 12: the first section holds only open calls a Japanese company may apply to; a closed call
    is never among the new calls; every item has its Japanese fact line; a subscriber who asked for
    only the calls they may apply to gets only those."""
    from bs4 import BeautifulSoup

    controller, handler = smtp_server
    http_server.add("/esa.xml", body=week_of_calls(datetime.now(timezone.utc)))
    catalog = tmp_path / "cat.toml"
    catalog.write_text(catalog_toml([("esa-business", "ESA", http_server.url("/esa.xml"))]))
    env = {"SPACEDIGEST_SOURCES": str(catalog), "SPACEDIGEST_FROM": "Digest <digest@spacedigest.example>",
           "SPACEDIGEST_SMTP_URL": f"smtp://127.0.0.1:{controller.port}"}
    assert cli("subscribers", "add", "all@example.jp", "--lang", "ja", env=env).returncode == 0
    assert cli("subscribers", "add", "only@example.jp", "--lang", "ja", "--eligible-only", env=env).returncode == 0
    run = cli("run", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    by_rcpt = {rcpts[0]: email.message_from_bytes(content, policy=email.policy.default)
               for rcpts, content in handler.messages}

    html = by_rcpt["all@example.jp"].get_body(("html",)).get_content()
    text = " ".join(BeautifulSoup(html, "lxml").get_text(" ").split())
    headings = [" ".join(h.get_text().split()) for h in BeautifulSoup(html, "lxml").find_all("h2")]
    assert headings[0] == "日本企業が応募できる公募（2件）"
    first, second = text.index(headings[0]), text.index(headings[1])
    for title in MAY_APPLY:
        assert first < text.index(title) < second, title
    for title in OTHERS:
        assert text.index(title) > second, title
    # the closed call is one short line under 締切済み, after every new call
    assert headings[-1] == "締切済み（参考）（1件）" and text.index("Call for proposals: Moon habitats") > text.index(headings[-1])
    # every item but the closed one opens with its fact line, what / who / how much / by when
    soup = BeautifulSoup(html, "lxml")
    facts = [" ".join(div.get_text().split()) for div in soup.find_all("div") if div.get_text().strip().startswith(
        ("応募可", "制限あり", "要確認", "参加可", "【"))]
    assert len(facts) == 6
    assert any("応募資格: 日本企業も応募可" in f for f in facts)
    assert any("最大5万ユーロ（約" in f and "応募資格: 国籍不問（日本企業も応募可）" in f for f in facts)
    assert any("応募資格: ESA加盟国の法人のみ" in f for f in facts)
    assert any(f.startswith("【イベント】ESA｜開催") for f in facts)

    only = by_rcpt["only@example.jp"].get_body(("plain",)).get_content()
    flat = " ".join(only.split())
    assert all(title in flat for title in MAY_APPLY)
    assert not any(title in flat for title in OTHERS + ("Moon habitats",))

    rows = query_json(cli, "select title, eligibility from open_to_japan order by title")
    assert [r["title"][:18] for r in rows] == ["Global challenge: ", "Lunar logistics se"]
    assert query_json(cli, "select eligibility, count(*) as n from items group by 1 order by 1") == [
        {"eligibility": "international", "n": 2}, {"eligibility": "japan", "n": 1},
        {"eligibility": "restricted", "n": 1}, {"eligibility": "unknown", "n": 3}]
