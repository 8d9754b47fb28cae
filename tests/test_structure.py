"""sources.structure: a listing page's repeated structure as selectors the html kind runs."""
from __future__ import annotations

from datetime import date

import pytest

from spacedigest.sources.models import Source
from spacedigest.sources.structure import derive, find_listings
from tests.sites import FIXTURES as SITES

PAGES = SITES.parent / "pages"
BASE = "http://127.0.0.1:8000"


def page(site: str, variant: str) -> bytes:
    return (SITES / site / variant / "news.html").read_bytes().replace(b"@BASE@", BASE.encode())


def template(url: str) -> Source:
    return Source(id="x", organisation="X", kind="html", url=url)


# (site, variant, listing URL, expected selectors, items, first title, its URL, its date)
CASES = [
    ("wordpress", "classic", "/news/", {"item_selector": "article.hentry", "title_selector": "h2 a",
                                        "date_selector": "time.published", "summary_selector": "div.entry-summary"},
     5, "Orbital Ventures opens applications for its 2024 space incubation programme",
     "/news/applications-open-2024-space-incubation-programme/", date(2024, 5, 2)),
    ("wordpress", "redesigned", "/news/", {"item_selector": "li.hentry", "title_selector": "h2 a",
                                           "date_selector": "time", "summary_selector": "div.wp-block-post-excerpt"},
     6, "Orbital Ventures opens applications for its 2024 space incubation programme",
     "/news/applications-open-2024-space-incubation-programme/", date(2024, 5, 2)),
    ("drupal", "classic", "/news", {"item_selector": "div.views-row", "title_selector": "div.views-field a",
                                    "date_selector": "time.datetime", "summary_selector": "div.views-field-body"},
     5, "Business incubation centre: call for start-ups, autumn 2024 intake",
     "/news/bic-nordic-call-for-start-ups-autumn-2024", date(2024, 4, 29)),
    ("drupal", "redesigned", "/news", {"item_selector": "div.views-row", "title_selector": "h2 a",
                                       "date_selector": "time.datetime", "summary_selector": "div.node__content"},
     6, "Business incubation centre: call for start-ups, autumn 2024 intake",
     "/news/bic-nordic-call-for-start-ups-autumn-2024", date(2024, 4, 29)),
    ("static", "classic", "/news/", {"item_selector": "ul.news li", "title_selector": "a", "date_selector": "span.date"},
     4, "会員企業の海外展示会出展支援（2024年度下期）募集", "/news/2024/0514.html", date(2024, 5, 14)),
    ("static", "redesigned", "/news/", {"item_selector": "table.newsTable tr", "title_selector": "a",
                                        "date_selector": "th"},
     5, "関西宇宙ビジネス研究会 2024年度総会の開催について", "/news/2024/0520.html", date(2024, 5, 20)),
]


@pytest.mark.parametrize("site, variant, path, selectors, count, title, link, published", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_sites_list_becomes_selectors_the_html_kind_reads(site, variant, path, selectors, count, title, link,
                                                                published):
    url = BASE + path
    body = page(site, variant)
    assert find_listings(body, url=url)[0].options() == selectors
    source, result = derive(template(url), body, url=url)
    assert {k: getattr(source.options, k) for k in selectors} == selectors
    assert len(result.entries) == count
    first = next(e for e in result.entries if e.title == title)
    assert first.link == BASE + link and first.published.date() == published
    assert all(e.published for e in result.entries)


def test_the_same_titles_and_links_before_and_after_a_redesign():
    """What makes a fallback safe: the redesigned page read with derived selectors gives the entries
    the old selectors gave (plus the new one), same titles and links."""
    for site, path in (("wordpress", "/news/"), ("drupal", "/news"), ("static", "/news/")):
        url = BASE + path
        old = {(e.title, e.link) for e in derive(template(url), page(site, "classic"), url=url)[1].entries}
        new = {(e.title, e.link) for e in derive(template(url), page(site, "redesigned"), url=url)[1].entries}
        assert old < new and len(new - old) == 1, site


def test_navigation_sidebars_and_undated_lists_are_not_listings():
    # the static site's sidebar of links and its menu have no dates; a campaign list without dates
    # and an article page are no listing at all
    listings = find_listings(page("static", "classic"), url=BASE + "/news/")
    assert [listing.item_selector for listing in listings] == ["ul.news li"]
    for name in ("osip_campaigns.html", "cnes_article_detail.html"):
        assert derive(template(BASE), (PAGES / name).read_bytes(), url=BASE) is None, name


def test_a_card_whose_whole_body_is_a_link_gives_a_title_inside_it():
    body = (PAGES / "crossu_news.html").read_bytes()
    listing = find_listings(body, url="https://crossu.org/news/")[0]
    assert listing.options() == {"item_selector": "li", "title_selector": "p.p-news__title",
                                 "link_selector": "a.p-news__link", "date_selector": "span.p-news__date"}


def test_a_bare_date_beside_the_link_is_read_from_the_item_itself():
    body = "<ul class='list'><li>2024.05.14 <a href='/a'>小型衛星の公募を開始しました</a></li>" \
           "<li>2024.05.02 <a href='/b'>宇宙ビジネス交流会の開催について</a></li></ul>".encode()
    source, result = derive(template(BASE), body, url=BASE)
    assert source.options.date_selector == ":scope"
    assert [(e.title, e.published.date()) for e in result.entries] == [
        ("小型衛星の公募を開始しました", date(2024, 5, 14)), ("宇宙ビジネス交流会の開催について", date(2024, 5, 2))]


def test_items_are_never_named_by_a_bare_div_or_a_state_class():
    body = (PAGES / "business_esa_funding_redesigned.html").read_bytes()
    assert find_listings(body, url=BASE)[0].item_selector == "div.opportunity-card"
    # WordPress marks each post with its format: "format-standard" would miss the next video post
    assert "format" not in find_listings(page("wordpress", "redesigned"), url=BASE)[0].item_selector


def test_a_definition_list_of_dates_and_links_pairs_each_dt_with_its_dd():
    """The hand-made Japanese news list: <dt>date</dt><dd><a>title</a></dd>."""
    body = """<html><body><div id="side"><dl><dt>リンク</dt><dd><a href="/a">A</a></dd></dl></div>
    <dl class="info">
    <dt>2024.05.14</dt><dd><a href="/news/0514.html">会員企業の海外展示会出展支援（2024年度下期）募集</a></dd>
    <dt>2024.05.10</dt><dd><a href="/news/0510.html">欧州宇宙機関（ESA）ビジネスインキュベーション説明会の報告</a></dd>
    <dt>2024.05.02</dt><dd><a href="/news/0502.html">小型衛星データ利活用実証事業の公募を開始しました</a><span>NEW</span></dd>
    </dl></body></html>""".encode()
    source, result = derive(template(BASE), body, url=BASE)
    options = source.options
    assert (options.item_selector, options.item_siblings, options.date_selector) == ("dl.info dt", True, "dt")
    assert [(e.title, e.link, e.published.date()) for e in result.entries] == [
        ("会員企業の海外展示会出展支援（2024年度下期）募集", BASE + "/news/0514.html", date(2024, 5, 14)),
        ("欧州宇宙機関（ESA）ビジネスインキュベーション説明会の報告", BASE + "/news/0510.html", date(2024, 5, 10)),
        ("小型衛星データ利活用実証事業の公募を開始しました", BASE + "/news/0502.html", date(2024, 5, 2)),
    ]
