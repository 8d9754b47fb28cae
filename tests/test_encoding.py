"""Pages and feeds that declare no encoding: detected on their bytes, Japanese first."""
from __future__ import annotations

import pytest

from spacedigest.sources.catalog import sources_from_data
from spacedigest.sources.encoding import undeclared_encoding
from spacedigest.sources.pipeline import collect_source
from spacedigest.sources.retrieve import FetchPolicy, HttpRetriever

FAST = FetchPolicy(connect_timeout=1, read_timeout=2, deadline=4, backoff=0.05)

# No encoding anywhere: no charset in Content-Type, no encoding in the XML declaration, no BOM.
JA_FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>宇宙ビジネスのお知らせ</title><link>https://example.jp/</link>
<item><title>小型衛星の実証機会に関する公募のお知らせ</title><link>https://example.jp/news/1.html</link>
<description>宇宙航空研究開発機構（JAXA）は、小型衛星の軌道上実証の機会を提供します。締切は2024年6月28日です。</description>
<pubDate>Mon, 13 May 2024 09:00:00 +0900</pubDate></item>
<item><title>宇宙ビジネス交流会（東京）開催</title><link>https://example.jp/news/2.html</link>
<pubDate>Fri, 10 May 2024 09:00:00 +0900</pubDate></item>
</channel></rss>"""

JA_PAGE = """<html><head><title>お知らせ一覧</title></head><body>
<ul class="news">
<li><span class="date">2024年5月13日</span> <a href="/news/1.html">小型衛星の実証機会に関する公募のお知らせ</a></li>
<li><span class="date">2024年5月10日</span> <a href="/news/2.html">宇宙ビジネス交流会（東京）開催</a></li>
</ul></body></html>"""

TITLES = ["小型衛星の実証機会に関する公募のお知らせ", "宇宙ビジネス交流会（東京）開催"]


def collect(entry: dict, http_server) -> list[str]:
    source = sources_from_data({"source": [{"id": "ja", "organisation": "JAXA", "language": "ja", **entry}]})[0]
    retriever = HttpRetriever(policy=FAST)
    try:
        result = collect_source(source, retriever=retriever)
    finally:
        retriever.close()
    assert result.error is None, result.error
    return [a.title for a in result.announcements]


@pytest.mark.parametrize("encoding", ["cp932", "euc_jp", "iso2022_jp"])
def test_an_undeclared_japanese_feed_reads_right(http_server, encoding):
    url = http_server.add("/rss.xml", body=JA_FEED.encode(encoding), content_type="application/rss+xml")
    assert collect({"kind": "feed", "url": url}, http_server) == TITLES


@pytest.mark.parametrize("encoding", ["cp932", "euc_jp"])
def test_an_undeclared_japanese_page_reads_right(http_server, encoding):
    url = http_server.add("/news/", body=JA_PAGE.encode(encoding), content_type="text/html")
    titles = collect({"kind": "html", "url": url, "item_selector": "ul.news li", "date_selector": ".date"}, http_server)
    assert titles == TITLES


def test_a_declared_encoding_is_followed_not_guessed(http_server):
    body = JA_PAGE.replace("<head>", '<head><meta charset="shift_jis">').encode("cp932")
    assert undeclared_encoding(body) is None
    url = http_server.add("/news/", body=body, content_type="text/html")
    assert collect({"kind": "html", "url": url, "item_selector": "ul.news li"}, http_server) == TITLES
    # UTF-8 and ASCII need no detection at all
    assert undeclared_encoding(JA_PAGE.encode("utf-8")) is None
    assert undeclared_encoding(b"<p>plain</p>") is None


def test_an_undeclared_western_page_is_windows_1252():
    text = "<p>Résumé des appels à projets, année 2024 — été</p>"
    assert undeclared_encoding(text.encode("cp1252")) == "cp1252"
