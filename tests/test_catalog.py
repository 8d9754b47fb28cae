"""sources.catalog: the built-in catalog and one-line validation errors."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from spacedigest.sources.catalog import BUILTIN_CATALOG, CatalogError, dump_catalog, load_catalog, sources_from_data
from spacedigest.sources.eu_funding_tenders import FundingTendersOptions
from spacedigest.sources.html import HtmlOptions
from spacedigest.sources.models import Source

PARTNERS = {"ESA", "CNES", "Harwell", "Cross U"}
ALSO_REQUIRED = {"UK Space Agency", "JAXA", "European Commission"}


def test_builtin_catalog_loads_with_twelve_organisations_including_the_partners():
    sources = load_catalog()
    organisations = {s.organisation for s in sources}
    assert len(organisations) >= 12, organisations
    assert PARTNERS | ALSO_REQUIRED <= organisations
    assert load_catalog(None) == load_catalog(BUILTIN_CATALOG)


def test_builtin_catalog_entries_are_complete():
    sources = load_catalog()
    assert len({s.id for s in sources}) == len(sources)
    for s in sources:
        assert s.name and s.country and s.language, s.id
        assert s.url.startswith("https://"), s.id
        assert s.expected_period_days > 0
        if s.kind == "html":
            assert s.options.item_selector, s.id
    by_id = {s.id: s for s in sources}
    # The partners' sites without feeds are covered by html/json connectors.
    assert by_id["esa-business-funding"].kind == "html"
    assert by_id["esa-osip-campaigns"].kind == "html"
    # kind = "json" with its api resolves to the kind's adapter
    assert by_id["harwell-news"].kind == "wordpress"
    assert by_id["harwell-news"].options.fallback_url == "https://www.harwellcampus.com/feed/"
    assert by_id["eu-ft-space-calls"].kind == "eu-funding-tenders"
    assert {s.language for s in sources if s.organisation == "Cross U"} == {"ja"}
    assert by_id["uksa-news"].url == "https://www.gov.uk/government/organisations/uk-space-agency.atom"
    assert by_id["esa-topnews"].url == "https://www.esa.int/rssfeed/TopNews"


def test_kind_keys_become_typed_options():
    [source] = sources_from_data(
        {"source": [{"id": "x-1", "organisation": "ESA", "kind": "html", "url": "https://a.example/",
                     "item_selector": "li", "timezone": "Europe/Paris", "detail": True}]}
    )
    assert source.options == HtmlOptions(item_selector="li", detail=True)
    assert source.timezone == "Europe/Paris"
    assert source.language == "en" and source.enabled is True and source.expected_period_days == 30


@pytest.mark.parametrize(
    "extra, reason",
    [
        ({"kind": "html", "item_selector": "li", "titel_selector": "h2"},
         "unknown option 'titel_selector' for a html source (did you mean 'title_selector'?)"),
        ({"kind": "feed", "item_selector": "li"}, "unknown option 'item_selector' for a feed source "
                                                  "(known: site_url, category)"),
        ({"kind": "html", "item_selector": "li", "detail_limit": "ten"}, "'detail_limit' must be a whole number >= 0"),
        ({"kind": "html", "item_selector": "li", "detail": "yes"}, "'detail' must be true or false"),
        ({"kind": "json", "api": "wordpress", "max_page": 2},
         "unknown option 'max_page' for a wordpress source (did you mean 'max_pages'?)"),
        ({"kind": "json", "api": "graphql"}, "unknown api 'graphql' (expected 'wordpress' or 'ft-search')"),
        ({"kind": "feed", "timezone": "Mars/Olympus"},
         "unknown timezone 'Mars/Olympus' (expected an IANA name such as 'Europe/Paris')"),
    ],
)
def test_a_misspelt_or_mistyped_option_is_a_one_line_error_naming_source_and_key(extra, reason):
    table = {"id": "x-1", "organisation": "ESA", "url": "https://a.example/", **extra}
    with pytest.raises(CatalogError) as info:
        sources_from_data({"source": [table]}, origin="my.toml")
    assert str(info.value) == f"my.toml: source #1 'x-1': {reason}"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
[[source]]
id = "esa-a"
organisation = "ESA"
kind = "feed"
url = "https://www.esa.int/rssfeed/TopNews"

[[source]]
id = "esa-b"
organisation = "ESA"
kind = "feed"
url = "https://www.esa.int/rssfeed/Applications"
"""


@pytest.mark.parametrize(
    "third, reason",
    [
        ('id = "esa-x"\norganisation = "ESA"\nkind = "feed"\n', "source #3 'esa-x': missing key 'url'"),
        ('organisation = "ESA"\nkind = "feed"\nurl = "https://x.example/"\n', "source #3: missing key 'id'"),
        ('id = "ESA_X"\norganisation = "ESA"\nkind = "feed"\nurl = "https://x.example/"\n',
         "source #3 'ESA_X': invalid id 'ESA_X': use lower-case letters, digits and '-'"),
        ('id = "esa-a"\norganisation = "ESA"\nkind = "feed"\nurl = "https://x.example/"\n',
         "source #3 'esa-a': duplicate id (first used by source #1)"),
        ('id = "esa-x"\norganisation = "ESA"\nkind = "rss"\nurl = "https://x.example/"\n',
         "source #3 'esa-x': unknown kind 'rss' (expected one of: feed, html, wordpress, eu-funding-tenders, sitemap, json)"),
        ('id = "esa-x"\norganisation = "ESA"\nkind = "feed"\nurl = "ftp://x.example/feed"\n',
         "source #3 'esa-x': url 'ftp://x.example/feed' is not an http(s) URL"),
        ('id = "esa-x"\norganisation = "ESA"\nkind = "feed"\nurl = "https://x.example/"\nlanguage = "japanese"\n',
         "source #3 'esa-x': invalid language 'japanese' (expected an ISO 639-1 code such as 'en', 'fr', 'ja')"),
        ('id = "esa-x"\norganisation = "ESA"\nkind = "feed"\nurl = "https://x.example/"\nenabled = "yes"\n',
         "source #3 'esa-x': 'enabled' must be true or false"),
        ('id = "esa-x"\norganisation = "ESA"\nkind = "html"\nurl = "https://x.example/"\n',
         "source #3 'esa-x': an html source needs 'item_selector' (the CSS selector of one listing item)"),
        ('id = "esa-x"\norganisation = "ESA"\nkind = "feed"\nurl = "https://x.example/"\nexpected_period_days = 0\n',
         "source #3 'esa-x': 'expected_period_days' must be a positive whole number"),
        ('id = "esa-x"\norganisation = 3\nkind = "feed"\nurl = "https://x.example/"\n',
         "source #3 'esa-x': 'organisation' must be a string"),
    ],
)
def test_validation_errors_are_one_line_naming_file_entry_and_reason(tmp_path, third, reason):
    path = write(tmp_path, GOOD + "\n[[source]]\n" + third)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    message = str(info.value)
    assert message == f"{path}: {reason}"
    assert "\n" not in message


def test_invalid_toml_and_missing_file_are_one_line(tmp_path):
    path = write(tmp_path, '[[source]]\nid = "x\n')
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(info.value).startswith(f"{path}: invalid TOML: ") and "\n" not in str(info.value)

    missing = tmp_path / "nope.toml"
    with pytest.raises(CatalogError) as info:
        load_catalog(missing)
    assert str(info.value).startswith(f"{missing}: cannot read the catalog") and "\n" not in str(info.value)

    with pytest.raises(CatalogError, match="no \\[\\[source\\]\\] entries"):
        load_catalog(write(tmp_path, "title = 'empty'\n"))


def test_dump_catalog_round_trips_every_value_kind():
    tricky = Source(
        id="tricky-1",
        organisation="Cross U",
        kind="html",
        url="https://crossu.org/news/?a=1&b=2",
        language="ja",
        enabled=False,
        name='クロスユー "お知らせ" \\ tab\there',
        country="JP",
        expected_period_days=3,
        timezone="Asia/Tokyo",
        options=HtmlOptions(
            item_selector="ul > li:nth-of-type(2n)",
            id_pattern="Ca-\\d{4}-\\d{5}",
            detail=True,
            detail_limit=5,
            summary_selector="p.lead\x7f",
        ),
    )
    listed = Source(id="ft-1", organisation="EC", kind="eu-funding-tenders", url="https://api.example/search",
                    options=FundingTendersOptions(ft_types=("1", "2"), ft_keywords=("espace", "宇宙")))
    text = dump_catalog(load_catalog() + [tricky, listed])
    again = sources_from_data(tomllib.loads(text))
    assert again == load_catalog() + [tricky, listed]
    assert [s.options for s in again] == [s.options for s in load_catalog() + [tricky, listed]]


def test_dump_catalog_of_the_builtin_catalog_is_loadable_from_a_file(tmp_path):
    path = write(tmp_path, dump_catalog(load_catalog()))
    assert load_catalog(path) == load_catalog()
