"""sources.html: selector-driven listing pages and item pages, with the built-in catalog's settings.

Each fixture under tests/fixtures/pages/ follows the markup of the site its catalog entry points at.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from spacedigest.sources.catalog import load_catalog
from spacedigest.sources.html import HtmlOptions, describe_selectors, detail_targets, parse_detail, parse_listing
from spacedigest.sources.models import Entry, ParseError, ParseResult, Source
from spacedigest.sources.pipeline import interpret, with_detail
from tests.conftest import FIXTURES

PAGES = FIXTURES / "pages"
CATALOG = {s.id: s for s in load_catalog()}
AT = datetime(2024, 6, 1, 3, 0, tzinfo=timezone.utc)  # noon in Tokyo on 1 June 2024: "today" for deadlines
FETCHED_AT = datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)  # after every fixture date


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def listing(source_id: str, fixture: str, **kwargs):
    source = CATALOG[source_id]
    return parse_listing((PAGES / fixture).read_bytes(), url=source.url, source=source, **kwargs)


def announced(source_id: str, fixture: str, at: datetime = AT) -> dict:
    """The page's announcements by title, as collect makes them on `at` (deadlines, rolling calls,
    opening and event dates are read from the marked parts and the item text by the classifier)."""
    source = CATALOG[source_id]
    return {a.title: a for a in interpret(source, [listing(source_id, fixture)], url=source.url, fetched_at=at)}


def announced_detail(source_id: str, detail: Entry, at: datetime = AT):
    source = CATALOG[source_id]
    [announcement] = interpret(source, [ParseResult(entries=(detail,))], url=source.url, fetched_at=at)
    return announcement


# Every html source of the built-in catalog, its fixture, and its first item as expected.
CASES = [
    # (source id, fixture, items, first title, first URL, first published (UTC))
    ("esa-business-funding", "business_esa_funding.html", 4, "Waste to Energy",
     "https://business.esa.int/funding/invitation-to-tender/kick-start-waste-to-energy", utc(2024, 3, 17, 23)),
    ("esa-osip-campaigns", "osip_campaigns.html", 3, "Sustainable Future: Advancing Circular Life Support Systems",
     "https://ideas.esa.int/servlet/hype/IMT?documentTableId=45087607031&userAction=Browse&templateName=&documentId=7bd5c1a8e4c7e1f0",
     None),
    ("esa-bic-czech", "esa_bic_czech_news.html", 2,
     "20 Years of ESA BICs: Celebrating Innovation and the Future of Space Commercialisation",
     "https://esa-bic.cz/news/20-years-of-esa-bics-celebrating-innovation-and-the-future-of-space-commercialisation",
     utc(2025, 2, 17, 23)),
    # French: "18 novembre 2024", Paris midnight = 23:00 UTC the day before.
    ("cnes-news", "cnes_news.html", 2, "Le CNES lance un appel à projets pour les start-up du spatial",
     "https://cnes.fr/fr/le-cnes-lance-un-appel-projets-pour-les-start-ups-du-spatial", utc(2024, 11, 17, 23)),
    # French, capitalised month: "18 Juin 2019" (summer time: 22:00 UTC).
    ("cnes-press", "cnes_press.html", 2, "Le CNES au SIAE 2019 - La coopération, au cœur des réussites du CNES",
     "https://presse.cnes.fr/fr/le-cnes-au-siae-2019-la-cooperation-au-coeur-des-reussites-du-cnes",
     utc(2019, 6, 17, 22)),
    # Day-first numeric "06/05/2024" is 6 May, resolved against <base href>.
    ("connectbycnes-news", "connectbycnes_news.html", 2, "ActInSpace 2024 : les inscriptions sont ouvertes",
     "https://www.connectbycnes.fr/actinspace", utc(2024, 5, 5, 22)),
    ("harwell-space-cluster", "harwell_space_cluster.html", 2, "UK Science Minister visits Harwell Science Campus",
     "https://www.harwellcampus.com/uk-science-minister-visits-harwell-campus/", utc(2024, 2, 22, 10, 30)),
    # Japanese "2024.11.18", Tokyo midnight = 15:00 UTC the day before.
    ("crossu-news", "crossu_news.html", 2, "欧州宇宙機関（ESA）との連携プログラム説明会を開催します",
     "https://crossu.org/news/2411181/", utc(2024, 11, 17, 15)),
    # Japanese "2024年10月21日".
    ("crossu-events", "crossu_events.html", 2, "フランス国立宇宙研究センター（CNES）ビジネスセミナー",
     "https://crossu.org/event/cnes-business-seminar/", utc(2024, 10, 20, 15)),
    ("jaxa-aerospacebiz-news", "jaxa_aerospacebiz_news.html", 3,
     "宇宙イノベーションパートナーシップ（J-SPARC）新規プロジェクト開始のお知らせ",
     "https://aerospacebiz.jaxa.jp/topics/news/jsparc_2024_partner/", utc(2024, 11, 17, 15)),
    ("euspa-news", "euspa_news.html", 2, "CASSINI Hackathon: registration opens for 2025 edition",
     "https://www.euspa.europa.eu/newsroom-events/news/cassini-hackathon-2025-open-call", utc(2024, 11, 18, 12)),
    # English "18 March 2025", Berlin midnight.
    ("dlr-news", "dlr_news.html", 2, "Marching towards Mars: ISS robot experiment Surface Avatar successfully concludes",
     "https://www.dlr.de/en/latest/news/2025/marching-towards-mars-iss-robot-experiment-surface-avatar-successfully-concludes",
     utc(2025, 3, 17, 23)),
    ("nosa-news", "nosa_news.html", 2, "New call in the national support programme for space industry",
     "https://www.romsenter.no/en/news/new-call-for-national-support-programme", utc(2024, 5, 5, 22)),
]


def test_every_html_source_in_the_catalog_has_a_fixture():
    assert {case[0] for case in CASES} == {s.id for s in CATALOG.values() if s.kind == "html"}


@pytest.mark.parametrize("source_id, fixture, count, title, url, published", CASES, ids=[c[0] for c in CASES])
def test_listing_fixture_parses_to_titled_absolute_dated_entries(source_id, fixture, count, title, url, published):
    result = listing(source_id, fixture)
    assert len(result.entries) == count
    first = result.entries[0]
    assert (first.title, first.link) == (title, url)
    assert first.published in (published, None)  # a call dated by its opening gets its date from the classifier
    for entry in result.entries:
        assert entry.title and entry.link.startswith("https://")
        assert entry.published is None or entry.published.tzinfo is not None


@pytest.mark.parametrize("source_id, fixture, count, title, url, published", CASES, ids=[c[0] for c in CASES])
def test_listing_fixture_normalizes_to_announcements(source_id, fixture, count, title, url, published):
    source = CATALOG[source_id]
    result = listing(source_id, fixture)
    announcements = interpret(source, [result], url=source.url, fetched_at=FETCHED_AT)
    assert len(announcements) == count
    first = announcements[0]
    assert first.title == title and first.url == url and first.organisation == source.organisation
    assert first.language == source.language
    if published is None:
        assert first.published_estimated and first.published_at == FETCHED_AT
    else:
        assert first.published_at == published and not first.published_estimated
    assert len({a.entry_key for a in announcements}) == count


def test_business_esa_calls_have_opening_and_closing_dates_in_both_written_forms():
    calls = announced("esa-business-funding", "business_esa_funding.html", at=FETCHED_AT)
    waste = calls["Waste to Energy"]
    assert (waste.opening_date, waste.deadline) == (date(2024, 3, 18), date(2024, 5, 17))
    assert waste.summary == "Space-enabled services for turning waste into energy."
    blue = calls["Blue Capital"]  # "06-05-2024" / "14-06-2024": day first
    assert (blue.opening_date, blue.deadline) == (date(2024, 5, 6), date(2024, 6, 14))
    # No publication date on the page: the call was announced when it opened (Paris midnight).
    assert blue.published_at == utc(2024, 5, 5, 22) and not blue.published_estimated
    always = calls["Direct Negotiation - Kick-Starts"]
    # An empty "Opening date:" must not borrow the closing date that follows it.
    assert always.opening_date is None and always.deadline == date(2025, 12, 31)
    assert always.published_estimated
    assert "always open" in always.detail_text


def test_osip_campaigns_relative_and_numeric_deadlines_and_call_ids():
    entries = listing("esa-osip-campaigns", "osip_campaigns.html").entries
    assert [e.guid for e in entries] == ["Ca-2024-01347", "Ca-2024-01298", "Ca-2019-00211"]
    calls = list(announced("esa-osip-campaigns", "osip_campaigns.html").values())
    assert calls[0].deadline == date(2024, 6, 13)  # "Ends in 12 days" from 1 June 2024
    assert calls[1].deadline == date(2024, 6, 30)  # "Ends on 30/06/2024"
    assert calls[2].deadline is None and calls[2].deadline_kind == "rolling"


def test_french_listing_reads_deadline_in_summary_and_skips_script_links():
    result = listing("cnes-news", "cnes_news.html")
    first, second = result.entries
    assert announced("cnes-news", "cnes_news.html")[first.title].deadline == date(2025, 3, 3)  # "Date limite de dépôt des dossiers : 3 mars 2025"
    assert second.published == utc(2024, 7, 31, 22)  # "1er août 2024"
    assert all("javascript" not in e.link for e in result.entries)
    assert result.warnings == ("1 of 3 items skipped: no title or no link",)


def test_japanese_events_deadline_and_event_date():
    first, second = listing("crossu-events", "crossu_events.html").entries
    seminar = announced("crossu-events", "crossu_events.html")[first.title]
    assert seminar.deadline == date(2024, 11, 15)  # 申込締切
    assert seminar.event_date == date(2024, 11, 18)  # 開催日 (event_date_selector)
    assert first.summary.startswith("日仏の宇宙ビジネス連携")
    assert second.link == "https://crossu.org/event/harwell-japan-day/"


def test_english_text_date_and_labelled_deadline():
    second = listing("harwell-space-cluster", "harwell_space_cluster.html").entries[1]
    assert second.published == utc(2024, 3, 18)  # "18 March 2024", London midnight (GMT)
    assert announced("harwell-space-cluster", "harwell_space_cluster.html")[second.title].deadline == date(2024, 4, 30)  # "Deadline: 30 April 2024."
    assert second.link == "https://www.harwellcampus.com/harwell-space-cluster-international-partnership-programme/"


def test_layout_changed_page_is_a_clear_error():
    source = CATALOG["esa-business-funding"]
    with pytest.raises(ParseError) as info:
        parse_listing((PAGES / "business_esa_funding_redesigned.html").read_bytes(), url=source.url, source=source)
    assert str(info.value) == (
        "item selector '.view-funding-opportunities .views-row' matched nothing on https://business.esa.int/funding:"
        " the page layout may have changed"
    )


def test_items_without_title_or_link_are_a_clear_error():
    source = CATALOG["cnes-news"]
    with pytest.raises(ParseError) as info:
        parse_listing((PAGES / "cnes_news_titles_only.html").read_bytes(), url=source.url, source=source)
    assert str(info.value).endswith("on https://cnes.fr/fr/actualites: no item had both a title and a link")
    assert "\n" not in str(info.value)


def test_bad_configuration_and_empty_pages_are_one_line_errors():
    source = CATALOG["crossu-news"]
    broken = replace(source, options=replace(source.options, item_selector="li[["))
    with pytest.raises(ParseError, match=r"^item selector 'li\[\[' is not a valid CSS selector") as info:
        parse_listing(b"<html><li>x</li></html>", url=source.url, source=broken)
    assert "\n" not in str(info.value)
    with pytest.raises(ParseError, match="^empty page at https://crossu.org/news/$"):
        parse_listing(b"  ", url=source.url, source=source)


def test_charset_from_content_type_wins():
    source = CATALOG["jaxa-aerospacebiz-news"]
    page = '<ul class="newsList"><li><span class="date">2024.11.18</span><a href="/a/">公募のお知らせ</a></li></ul>'
    result = parse_listing(page.encode("shift_jis"), url=source.url, source=source,
                           content_type="text/html; charset=Shift_JIS")
    assert result.entries[0].title == "公募のお知らせ"


def test_strptime_date_format_option():
    second = listing("esa-bic-czech", "esa_bic_czech_news.html").entries[1]
    assert second.published == utc(2025, 1, 2, 23)  # "3. 1. 2025" with date_format "%d. %m. %Y", Prague


def test_max_items_caps_a_page():
    source = CATALOG["jaxa-aerospacebiz-news"]
    capped = replace(source, options=replace(source.options, max_items=2))
    result = parse_listing((PAGES / "jaxa_aerospacebiz_news.html").read_bytes(), url=source.url, source=capped)
    assert len(result.entries) == 2 and "max_items" in result.warnings[0]


# ----- item pages ------------------------------------------------------------------------------------


def test_detail_page_metadata_first():
    source = CATALOG["esa-business-funding"]
    url = "https://business.esa.int/funding/invitation-to-tender/kick-start-waste-to-energy"
    detail = parse_detail((PAGES / "business_esa_call_detail.html").read_bytes(), url=url, source=source)
    assert detail.published == utc(2024, 3, 18, 8)  # article:published_time 09:00+01:00
    assert detail.updated == utc(2024, 4, 2, 12, 30)
    call = announced_detail("esa-business-funding", detail)
    assert call.deadline == date(2024, 5, 17)  # detail_deadline_selector
    assert call.opening_date == date(2024, 3, 18)
    assert detail.summary.startswith("ESA invites companies")
    assert detail.title == "Waste to Energy" and detail.link == url
    assert "feasibility studies" in detail.detail_text and "Funding" not in detail.detail_text  # nav dropped


def test_detail_page_json_ld_and_french_deadline_in_text():
    source = CATALOG["cnes-news"]
    detail = parse_detail((PAGES / "cnes_article_detail.html").read_bytes(), url="https://cnes.fr/fr/x",
                          source=source)
    assert detail.title == "Le CNES lance un appel à projets pour les start-up du spatial"  # not the WebSite name
    assert detail.published == utc(2024, 11, 18, 9)
    assert detail.summary.startswith("Le CNES ouvre un appel à projets")
    call = announced_detail("cnes-news", detail, at=datetime(2024, 11, 20, 3, tzinfo=timezone.utc))
    assert call.deadline == date(2025, 3, 3)
    assert call.opening_date == date(2024, 11, 18)  # "à partir du 18 novembre 2024"


def test_detail_json_ld_deadline_and_broken_blocks():
    page = b"""<html><head>
      <script type="application/ld+json">{not json</script>
      <script type="application/ld+json">[{"@type":"Event","name":"Space Business Day","startDate":"2024-12-05T10:00:00+09:00",
        "endDate":"2024-12-05T18:00:00+09:00"},{"@type":"JobPosting","validThrough":"2025-01-31"}]</script>
      </head><body><main><p>Register now.</p></main></body></html>"""
    detail = parse_detail(page, url="https://example.org/e", source=CATALOG["crossu-events"])
    assert detail.stated.deadline == date(2025, 1, 31)
    # the Event's dates, as written where it takes place (an event's endDate is no deadline)
    assert (detail.stated.event_date, detail.stated.event_end) == (date(2024, 12, 5), date(2024, 12, 5))
    assert detail.title == "Space Business Day"


def test_detail_targets_are_bounded_and_merge_keeps_listing_facts():
    source = CATALOG["esa-business-funding"]
    result = listing("esa-business-funding", "business_esa_funding.html")
    assert detail_targets([result], source) == [e.link for e in result.entries]
    bounded = replace(source, options=replace(source.options, detail_limit=2))
    assert len(detail_targets([result], bounded)) == 2
    assert detail_targets([result], CATALOG["crossu-news"]) == []  # no detail step configured

    waste = result.entries[0]
    detail = parse_detail((PAGES / "business_esa_call_detail.html").read_bytes(), url=waste.link, source=source)
    merged = with_detail(waste, detail)
    assert merged.published == utc(2024, 3, 18, 8)  # the page's own date beats the opening-date estimate
    assert announced_detail("esa-business-funding", merged).deadline == date(2024, 5, 17)
    assert merged.title == "Waste to Energy"
    assert merged.summary.startswith("ESA invites companies")
    assert with_detail(Entry(title="t", link="https://x/", published=utc(2020, 1, 1)), detail).published == utc(2020, 1, 1)


def test_describe_selectors_for_sources_check():
    source = CATALOG["esa-business-funding"]
    lines = describe_selectors((PAGES / "business_esa_funding.html").read_bytes(), url=source.url, source=source)
    assert lines[0] == "item_selector '.view-funding-opportunities .views-row': 4 match(es)"
    assert "title_selector '.views-field-title a': found in 4 of 4 items" in lines
    assert "summary_selector '.views-field-body': found in 2 of 4 items" in lines
    assert "4 item(s) would be extracted" in lines
    assert any(line.startswith("1. Waste to Energy | https://business.esa.int/") for line in lines)

    changed = describe_selectors((PAGES / "business_esa_funding_redesigned.html").read_bytes(), url=source.url,
                                 source=source)
    assert changed[0].endswith(": 0 match(es)")
    assert "the page layout may have changed" in changed[1]
    # ... and the selectors that read the new layout, ready to paste into the catalog
    assert changed[2].startswith("new selectors, which read 2 item(s) on this page; paste them into the catalog entry")
    assert changed[3:] == ['    item_selector = "div.opportunity-card"', '    title_selector = "a"',
                           '    date_selector = "span"']


def test_unsafe_links_never_come_out():
    source = Source(id="t", organisation="T", kind="html", url="https://t.example/list",
                    options=HtmlOptions(item_selector="li"))
    page = b"""<ul><li><a href="javascript:alert(1)">a</a></li><li><a href="data:text/html,x">b</a></li>
      <li><a href="mailto:x@y.z">c</a></li><li><a href="  /ok  ">ok</a></li></ul>"""
    result = parse_listing(page, url=source.url, source=source)
    assert [(e.title, e.link) for e in result.entries] == [("ok", "https://t.example/ok")]
