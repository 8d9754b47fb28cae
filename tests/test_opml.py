"""sources.opml: importing real reader exports and exporting the catalog's feeds."""
from __future__ import annotations

import tomllib

import pytest

from spacedigest.sources.catalog import dump_catalog, load_catalog, sources_from_data
from spacedigest.sources.models import ParseError, Source
from spacedigest.sources.feed import FeedOptions
from spacedigest.sources.opml import export_opml, parse_opml, slugify, sources_from_opml


@pytest.mark.parametrize(
    "name, count",
    [("greader_subscriptions.xml", 4), ("liferea_subscriptions.xml", 6), ("ttrss_subscriptions.xml", 8)],
)
def test_real_opml_exports_import_without_error(real_feeds, name, count):
    data = (real_feeds / "opml" / name).read_bytes()
    feeds = parse_opml(data)
    assert len(feeds) == count
    sources = sources_from_opml(data)
    assert len(sources) == count
    assert len({s.id for s in sources}) == count
    # What the importer produces is a valid catalog.
    assert sources_from_data(tomllib.loads(dump_catalog(sources))) == sources


def test_greader_nested_folders_flatten_into_categories(real_feeds):
    feeds = parse_opml((real_feeds / "opml" / "greader_subscriptions.xml").read_bytes())
    by_title = {f["title"]: f for f in feeds}
    assert by_title["Good Math, Bad Math"]["category"] is None
    assert by_title["Saturday Morning Breakfast Cereal (updated daily)"]["category"] == "Comics / Sub"
    assert by_title["Android Developers Blog"]["category"] == "Dev"
    explosm = by_title["Explosm.net, Comics"]
    assert explosm["xml_url"] == "http://pipes.yahoo.com/pipes/pipe.run?_id=1009ffe75092cb1845efb5cb901c2886&_render=rss"
    assert explosm["html_url"].startswith("http://pipes.yahoo.com/pipes/pipe.info")


def test_liferea_multiline_attributes_are_collapsed(real_feeds):
    data = (real_feeds / "opml" / "liferea_subscriptions.xml").read_bytes()
    titles = [f["title"] for f in parse_opml(data)]
    assert "Gizmag: Personal Computing" in titles
    assert {f["category"] for f in parse_opml(data)} == {"MyFeeds"}
    ids = [s.id for s in sources_from_opml(data, organisation_default="Reader", language_default="fr")]
    assert "gizmag-personal-computing" in ids
    imported = sources_from_opml(data, organisation_default="Reader", language_default="fr")
    assert all(s.organisation == "Reader" and s.language == "fr" and s.kind == "feed" for s in imported)


def test_ttrss_titles_from_text_and_ids_slugified(real_feeds):
    sources = sources_from_opml((real_feeds / "opml" / "ttrss_subscriptions.xml").read_bytes(),
                                organisation_default="Imported", language_default="de")
    by_url = {s.url: s for s in sources}
    titanic = by_url["http://www.titanic-magazin.de/ich.war.bei.der.waffen.rss"]
    assert titanic.id == "titanic-rss-der-endgultige-feed" and titanic.name == "Titanic RSS - der endgültige Feed"
    assert titanic.organisation == "Imported" and titanic.language == "de" and titanic.kind == "feed"
    assert by_url["http://blog.fefe.de/rss.xml?html"].options == FeedOptions(site_url="http://blog.fefe.de/", category="test")
    tv = [s.id for s in sources if s.id.startswith("tv-spielfilm")]
    assert len(tv) == 2 and len(set(tv)) == 2


def test_ids_unique_against_existing_catalog_and_fallback_to_host():
    data = """<?xml version="1.0"?><opml version="1.0"><body>
      <outline text="ESA Top News" xmlUrl="https://www.esa.int/rssfeed/TopNews" unknownAttr="x"/>
      <outline text="ESA Top News" xmlUrl="https://www.esa.int/rssfeed/TopNews?copy=1"/>
      <outline text="ESA Top News" xmlUrl="https://www.esa.int/rssfeed/TopNews"/>
      <outline text="宇宙航空研究開発機構" xmlUrl="https://www.jaxa.jp/rss/press_j.rdf"/>
      <outline text="bad" xmlUrl="javascript:alert(1)"/>
      <outline text="Folder without feeds"><outline text="empty"/></outline>
    </body></opml>""".encode()
    sources = sources_from_opml(data, existing_ids={"esa-top-news"})
    assert [s.id for s in sources] == ["esa-top-news-2", "esa-top-news-3", "jaxa-jp"]
    assert slugify("Cross U «お知らせ»") == "cross-u"


def test_not_opml_and_hostile_xml_are_one_line_errors():
    with pytest.raises(ParseError, match="^not an OPML document: the root element is not <opml>$"):
        parse_opml(b"<rss version='2.0'><channel/></rss>")
    with pytest.raises(ParseError, match="^empty OPML file$"):
        parse_opml(b"   ")
    with pytest.raises(ParseError, match="^not an OPML document: no <body>$"):
        parse_opml(b"<opml version='2.0'><head/></opml>")
    laughs = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">
      <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><opml><body><outline text="&c;" xmlUrl="https://x.example/feed"/></body></opml>"""
    with pytest.raises(ParseError, match="^not an OPML document: it declares XML entities \\(refused\\)$"):
        parse_opml(laughs)
    # Small XML faults are recovered from: a reader export is rarely perfect.
    [feed] = parse_opml(b'<opml><body><outline text="A & B" xmlUrl="https://x.example/feed"/></body></opml>')
    assert feed["xml_url"] == "https://x.example/feed"


def test_export_opml_round_trips_the_feed_sources():
    catalog = load_catalog()
    text = export_opml(catalog)
    assert text.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    feeds = parse_opml(text.encode("utf-8"))
    feed_sources = [s for s in catalog if s.kind == "feed"]
    assert [f["xml_url"] for f in feeds] == [s.url for s in sorted(feed_sources, key=lambda s: list(
        dict.fromkeys(x.organisation for x in feed_sources)).index(s.organisation))]
    assert {f["category"] for f in feeds} == {s.organisation for s in feed_sources}
    jaxa = next(f for f in feeds if f["xml_url"] == "https://www.jaxa.jp/rss/press_j.rdf")
    assert jaxa["title"] == "JAXA プレスリリース" and jaxa["category"] == "JAXA"

    odd = [Source(id="amp", organisation='R&D "Lab"', kind="feed", url="https://x.example/feed?a=1&b=<2>",
                  name="A & B", options=FeedOptions(site_url="https://x.example/"))]
    [feed] = parse_opml(export_opml(odd).encode())
    assert feed == {"title": "A & B", "xml_url": "https://x.example/feed?a=1&b=<2>", "html_url": "https://x.example/",
                    "category": 'R&D "Lab"'}
