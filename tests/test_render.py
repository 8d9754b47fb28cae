"""Rendering the digest (reports.render): content, dates in JST, escaping of hostile input, files."""
from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from spacedigest.reports.digest import DigestItem, build_digest, week_window, window_since
from tests.factories import make_item
from spacedigest.reports.render import render, safe_url, subject, wrap_text, write_reports

UTC = timezone.utc
W47 = week_window("2024-W47")
GENERATED = datetime(2024, 11, 24, 23, 0, tzinfo=UTC)  # Monday 25 Nov 08:00 JST
TODAY = date(2024, 11, 25)




def sample_items() -> list[DigestItem]:
    return [
        make_item(
            "call",
            title="ESA InCubed: call for Earth observation products",
            url="https://incubed.esa.int/call?x=1&y=2",
            category="funding",
            status="open",
            deadline=date(2024, 12, 7),
            deadline_kind="date",
            japan_relevant=True,
            japan_reason="open to non-member-state companies",
            deadline_changed=True,
            previous_deadline=date(2024, 11, 30),
            # 15:30 UTC on the 18th is 00:30 on Tuesday the 19th in Tokyo
            published_at=datetime(2024, 11, 18, 15, 30, tzinfo=UTC),
        ),
        make_item(
            "accelerator",
            title="宇宙スタートアップ向けアクセラレーター第3期 参加企業募集",
            url="https://crossu.org/news/accelerator-3",
            summary="日本の宇宙ベンチャーの欧州展開を支援するプログラムです。" * 6,
            organisation="Cross U",
            category="incubation",
            status="open",
            deadline_kind="rolling",
            language="ja",
            published_at=datetime(2024, 11, 20, 1, tzinfo=UTC),
        ),
        make_item(
            "moved-earlier",
            title="CNES appel à projets: date limite avancée",
            organisation="CNES",
            category="tender",
            status="open",
            deadline=date(2025, 1, 31),
            deadline_kind="date",
            deadline_changed=True,
            previous_deadline=date(2025, 2, 28),
            published_at=datetime(2024, 11, 21, 1, tzinfo=UTC),
        ),
        make_item(
            "event",
            title="Harwell Space Cluster networking evening",
            url="https://www.harwellcampus.com/events/space-cluster",
            organisation="Harwell",
            category="event",
            event_date=date(2024, 12, 5),
            published_at=datetime(2024, 11, 22, 1, tzinfo=UTC),
        ),
        make_item("news", title="ESA signs agreement with JAXA", category="partnership", url=None,
                  japan_relevant=True, japan_reason="mentions JAXA"),
    ]


def digest(lang: str, items: list[DigestItem] | None = None):
    return build_digest(sample_items() if items is None else items, W47, lang=lang, generated_at=GENERATED,
                        today=TODAY)


# ------------------------------------------------------------------ Japanese content

@pytest.mark.parametrize("fmt", ["md", "html", "txt"])
def test_japanese_digest_shows_every_item_with_its_facts(fmt):
    text = render(digest("ja"), fmt)
    if fmt == "html":
        text = BeautifulSoup(text, "lxml").get_text(" ")
    flat = " ".join(text.split())
    for title in ("ESA InCubed: call for Earth observation products", "宇宙スタートアップ向けアクセラレーター第3期",
                  "Harwell Space Cluster networking evening", "ESA signs agreement with JAXA"):
        assert title in flat.replace("\\", "") or title in text.replace("\n    ", "")
    assert "締切が近い公募" in text
    # each item's fact line: what, who may apply, by when
    assert "【公募】ESA" in flat and "締切 12月7日（土）（残り12日）" in flat
    assert "応募資格:記載なし（要確認）" in "".join(flat.split())  # a call that does not say who may apply
    assert "締切延長（旧: 2024年11月30日（土））" in flat  # later deadline: extended
    assert "締切変更（旧: 2025年2月28日（金））" in flat  # earlier deadline: changed
    assert "【支援プログラム】Cross U｜随時募集" in flat
    assert "【入札】CNES" in flat
    assert "日本関連" in flat  # why a news item concerns Japan
    assert "【イベント】Harwell｜開催 12月5日（木）" in flat
    # JST: published 2024-11-18 15:30 UTC is shown as Tuesday 19 Nov 00:30 JST
    assert "掲載 2024年11月19日（火）00:30 JST" in flat
    assert "対象期間: 2024年11月18日（月）00:00 JST 〜 2024年11月25日（月）00:00 JST" in flat
    assert "新着 5件" in flat


def test_sections_appear_in_order_in_every_format():
    headings = ["締切が近い公募", "新着の公募・支援プログラム", "イベント（", "パートナーシップ（"]
    for fmt in ("md", "html", "txt"):
        text = render(digest("ja"), fmt)
        positions = [text.index(h) for h in headings]
        assert positions == sorted(positions), fmt


def test_closing_soon_item_is_not_repeated_in_its_category_section():
    text = render(digest("ja"), "md")
    assert text.count("ESA InCubed: call for Earth observation products") == 1


def test_english_digest_mirrors_the_japanese_one():
    text = render(digest("en"), "txt")
    flat = " ".join(text.split())
    for phrase in ("Calls closing soon (1)", "New calls and support programmes (2)", "Events (1)", "Partnerships (1)",
                   "[Call] ESA | closes 7 Dec (12 days left) | Who may apply: not stated (check)",
                   "deadline extended (was Sat 30 November 2024)", "deadline changed (was Fri 28 February 2025)",
                   "[Support programme] Cross U | rolling, apply any time", "Japan-relevant: mentions JAXA",
                   "[Event] Harwell | takes place 5 Dec", "Published Tue 19 November 2024 00:30 JST"):
        assert phrase in flat, phrase


def test_deadline_today_and_passed_are_said_plainly():
    items = [make_item("today", status="open", category="funding", deadline=TODAY, deadline_kind="date"),
             make_item("past", status="closed", category="funding", deadline=date(2024, 11, 1), deadline_kind="date")]
    flat = " ".join(render(digest("ja", items), "txt").split())
    assert "締切 11月25日（月）（本日締切）" in flat
    assert "締切 2024年11月1日（金）（締切済み）" in flat  # one line among the closed calls


@pytest.mark.parametrize("lang, phrase", [("ja", "今週の新着情報はありません。"), ("en", "No new announcements this week.")])
@pytest.mark.parametrize("fmt", ["md", "html", "txt"])
def test_empty_window_says_so(lang, phrase, fmt):
    text = render(digest(lang, []), fmt)
    assert phrase in text


def test_links_in_footer_and_item_links():
    links = {"archive": "https://digest.example.org/", "calendar": "https://digest.example.org/calendar.ics",
             "atom": "https://digest.example.org/feed.atom", "unsubscribe": "https://digest.example.org/u?t=abc"}
    html = render(digest("ja"), "html", links=links)
    soup = BeautifulSoup(html, "lxml")
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert "https://incubed.esa.int/call?x=1&y=2" in hrefs
    assert all(url in hrefs for url in links.values())
    assert [a.get_text() for a in soup.find_all("a") if a["href"] == links["unsubscribe"]] == ["配信停止"]
    md = render(digest("en"), "md", links=links)
    assert "[Unsubscribe](https://digest.example.org/u?t=abc)" in md
    txt = render(digest("en"), "txt", links=links)
    assert "Archive: https://digest.example.org/" in txt


def test_html_is_email_safe_inline_css_only():
    html = render(digest("ja"), "html")
    soup = BeautifulSoup(html, "lxml")
    assert soup.find("style") is None and soup.find("script") is None and soup.find("link") is None
    assert soup.find("html")["lang"] == "ja"
    assert soup.find("meta", charset=True)["charset"].lower() == "utf-8"
    assert soup.find("table") is not None
    assert all(not attr.startswith("on") for tag in soup.find_all(True) for attr in tag.attrs)


# ------------------------------------------------------------------ hostile input

HOSTILE_URLS = [
    "javascript:alert(1)",
    " JaVaScRiPt:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "java\tscript:alert(1)",
    "//evil.example/protocol-relative",
    "mailto:someone@example.org",
]


def hostile_items() -> list[DigestItem]:
    items = [
        make_item(
            f"bad-url-{n}", url=url, title=f"Hostile link {n}", category="funding", status="open",
            deadline=date(2024, 12, 1), deadline_kind="date",
        )
        for n, url in enumerate(HOSTILE_URLS)
    ]
    items += [
        make_item("script", title="<script>alert('t')</script> Call", organisation="<script>alert('o')</script>",
                  summary="<script>alert('s')</script>", category="event"),
        make_item("img", title='<img src=x onerror="alert(1)"> ITT', japan_relevant=True,
                  japan_reason='<iframe src="https://evil.example/f" onload="x()"></iframe>',
                  summary='<svg onload=alert(1)>', category="tender",
                  url='https://ok.example/a" onmouseover="alert(1)'),
        make_item("md", title="[click me](https://evil.example/phish) ![pixel](https://evil.example/p.png) *bold* `code`",
                  summary="# heading\n\n> quote [x](https://evil.example/2) <a href='https://evil.example/3'>a</a>",
                  category="other", url="https://www.esa.int/ok"),
    ]
    return items


ALLOWED_HREFS = {"https://www.esa.int/ok", "https://www.esa.int/script", "https://ok.example/a%22%20onmouseover=%22alert%281%29"}


def assert_inert_html(html: str) -> None:
    soup = BeautifulSoup(html, "lxml")
    for tag in ("script", "iframe", "img", "svg", "object", "embed", "style", "form"):
        assert soup.find(tag) is None, tag
    for tag in soup.find_all(True):
        for attr in tag.attrs:
            assert not attr.lower().startswith("on"), (tag.name, attr)
    hrefs = {a.get("href") for a in soup.find_all("a")}
    assert hrefs <= ALLOWED_HREFS, hrefs - ALLOWED_HREFS
    assert all(h.startswith(("http://", "https://")) for h in hrefs)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_hostile_items_leave_nothing_active_in_html(lang):
    html = render(digest(lang, hostile_items()), "html", links={"unsubscribe": "javascript:alert(1)",
                                                                   "archive": "data:text/html,x"})
    assert_inert_html(html)
    assert "<script" not in html.lower()
    assert "javascript:" not in html.lower() and "data:text" not in html.lower() and "vbscript:" not in html.lower()
    # the hostile text is still shown, as text
    assert "&lt;script&gt;alert(" in html


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_hostile_items_leave_nothing_active_in_markdown(lang):
    markdown_it = pytest.importorskip("markdown_it")
    md = render(digest(lang, hostile_items()), "md", links={"unsubscribe": "javascript:alert(1)"})
    assert "<script" not in md.lower() and "<img" not in md.lower() and "<iframe" not in md.lower()
    for url in HOSTILE_URLS:
        assert f"]({url.strip()})" not in md
    # Render as a Markdown client would (CommonMark with raw HTML allowed, plus GFM tables/strikethrough)
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(md)
    assert_inert_html(html)
    soup = BeautifulSoup(html, "lxml")
    assert soup.find("em") is None or "bold" not in [e.get_text() for e in soup.find_all("em")]
    # titles stay literal: the fake link and image are text, not markup
    assert "[click me](https://evil.example/phish)" in soup.get_text()
    assert "<script>alert('t')</script> Call" in soup.get_text()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_hostile_items_leave_no_dangerous_link_in_plain_text(lang):
    txt = render(digest(lang, hostile_items()), "txt", links={"unsubscribe": "javascript:alert(1)"})
    lowered = txt.lower()
    assert "javascript:" not in lowered and "data:text/html" not in lowered and "vbscript:" not in lowered
    url_lines = [line.strip() for line in txt.splitlines() if "://" in line and line.strip().startswith(("http", "/"))]
    assert all(line.startswith(("http://", "https://")) for line in url_lines)
    assert "\x1b" not in txt and "\r" not in txt


def test_control_and_bidi_characters_are_removed():
    item = make_item("ctl", title="Call\x1b[31m red\u202e txt.exe\r\nInjected: header", category="other")
    for fmt in ("md", "html", "txt"):
        text = render(digest("en", [item]), fmt)
        assert "\x1b" not in text and "\u202e" not in text and "\r" not in text


@pytest.mark.parametrize("url, expected", [
    ("https://www.esa.int/a b", None),
    ("HTTPS://WWW.ESA.INT/x", "HTTPS://WWW.ESA.INT/x"),
    ("http://example.org/path_(1)", "http://example.org/path_%281%29"),
    ("https://例え.jp/ページ", "https://%E4%BE%8B%E3%81%88.jp/%E3%83%9A%E3%83%BC%E3%82%B8"),
    ("https:///nohost", None),
    ("ftp://example.org/file", None),
    (None, None),
])
def test_safe_url(url, expected):
    assert safe_url(url) == expected


# ------------------------------------------------------------------ subject

def test_subjects():
    assert subject(digest("ja")) == "【宇宙ビジネス公募ダイジェスト】2024年11月18日〜11月25日 新着5件"
    assert subject(digest("en")) == "[Space Business Digest] 18 Nov – 25 Nov 2024: 5 new items"
    assert subject(digest("ja", [])).endswith("新着なし")
    year_end = build_digest([], week_window("2026-W53"), lang="ja", generated_at=GENERATED)
    assert subject(year_end) == "【宇宙ビジネス公募ダイジェスト】2026年12月28日〜2027年1月4日 新着なし"
    year_end_en = build_digest([], week_window("2026-W53"), lang="en", generated_at=GENERATED)
    assert subject(year_end_en) == "[Space Business Digest] 28 Dec 2026 – 4 Jan 2027: no new items"
    for text in (subject(digest("ja")), subject(year_end_en)):
        assert "\n" not in text and "\r" not in text


# ------------------------------------------------------------------ plain-text wrapping

def display_width(line: str) -> int:
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in line)


def test_plain_text_is_wrapped_by_display_width_and_urls_stay_whole():
    long_url = "https://www.esa.int/Applications/Telecommunications_Integrated_Applications/" + "x" * 60
    items = sample_items() + [make_item("long", url=long_url, summary="word " * 80, category="other")]
    txt = render(digest("ja", items), "txt")
    for line in txt.splitlines():
        if "://" not in line:
            assert display_width(line) <= 72, line
    assert f"    {long_url}" in txt.splitlines()
    # Japanese summary wrapped over several lines, each continuing the hanging indent
    japanese_lines = [line for line in txt.splitlines() if "欧州展開" in line or "ベンチャー" in line]
    assert len(japanese_lines) >= 3 and all(line.startswith("    ") for line in japanese_lines)


def test_wrap_keeps_closing_punctuation_off_line_starts():
    text = "あ" * 35 + "。次の文です。"
    lines = wrap_text(text, width=72).splitlines()
    assert len(lines) == 2 and not lines[1].startswith("。")
    assert wrap_text("one two three", width=8, indent="  ", first="1. ") == "1. one\n  two\n  three"


# ------------------------------------------------------------------ files

def test_write_reports_writes_three_files_atomically(tmp_path: Path):
    d = digest("ja")
    renders = {fmt: render(d, fmt) for fmt in ("md", "html", "txt")}
    paths = write_reports(tmp_path / "reports", d, renders)
    assert {p.name for p in paths.values()} == {"2024-W47.ja.md", "2024-W47.ja.html", "2024-W47.ja.txt"}
    for fmt, path in paths.items():
        assert path.read_text(encoding="utf-8") == renders[fmt]
    assert not [p for p in (tmp_path / "reports").iterdir() if p.name.startswith(".")]  # no temporary left
    # rewriting replaces, never appends
    write_reports(tmp_path / "reports", d, {"md": "second"})
    assert paths["md"].read_text(encoding="utf-8") == "second"


def test_window_since_label_names_the_files(tmp_path: Path):
    window = window_since(None, GENERATED)
    d = build_digest([], window, lang="en", generated_at=GENERATED)
    paths = write_reports(tmp_path, d, {"txt": render(d, "txt")})
    assert paths["txt"].name == "2024-11-25_0800.en.txt"


def test_write_reports_error_is_one_clear_oserror(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(OSError, match="cannot create report folder .*not-a-folder"):
        write_reports(blocker, digest("ja"), {"md": "x"})
    if os.geteuid() != 0:  # root ignores permissions
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(OSError, match="cannot write .*2024-W47.ja.md"):
                write_reports(locked, digest("ja"), {"md": "x"})
        finally:
            locked.chmod(0o700)


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown digest format 'pdf'"):
        render(digest("ja"), "pdf")
    with pytest.raises(ValueError, match="unknown digest format"):
        write_reports(Path("."), digest("ja"), {"pdf": "x"})


def test_the_japan_reason_is_in_the_digest_language():
    item = make_item("j", japan_relevant=True, japan_reason="mentions JAXA")
    ja = render(build_digest([item], W47, lang="ja", generated_at=GENERATED), "md")
    en = render(build_digest([item], W47, lang="en", generated_at=GENERATED), "md")
    assert "JAXAに言及" in ja and "mentions JAXA" not in ja
    assert "mentions JAXA" in en
