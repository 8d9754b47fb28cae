"""Source kinds behind one protocol: a new kind is one module and one registry line, and the
pipeline, `sources check` and `reprocess` need no change for it."""
from __future__ import annotations

import json
import re

import pytest

from spacedigest.sources import kinds
from spacedigest.sources.catalog import CatalogError, sources_from_data
from spacedigest.sources.pipeline import collect_source
from spacedigest.sources.retrieve import HttpRetriever
from tests.conftest import PROJECT_ROOT

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Space Agency news",
    "home_page_url": "https://agency.example.org/",
    "items": [
        {"id": "2025-07", "url": "https://agency.example.org/calls/lunar-logistics",
         "title": "Call for proposals: lunar logistics",
         "content_text": "Companies may apply until the closing date: 17 May 2030.",
         "date_published": "2025-03-18T09:00:00Z"},
        {"id": "2025-08", "url": "https://agency.example.org/news/launch", "title": "Satellite launched",
         "summary": "The satellite reached orbit.", "date_published": "2025-03-19T09:00:00Z"},
    ],
}


@pytest.fixture
def jsonfeed_registered(monkeypatch):
    monkeypatch.setitem(kinds.REGISTRY, "jsonfeed", "tests.jsonfeed_kind:KIND")
    kinds.kind_named.cache_clear()
    yield
    kinds.kind_named.cache_clear()


def test_a_new_kind_is_one_module_and_one_registry_line(jsonfeed_registered, http_server):
    http_server.add("/feed.json", body=json.dumps(JSON_FEED).encode(), content_type="application/feed+json")
    [source] = sources_from_data({"source": [{"id": "agency-json", "organisation": "Agency", "kind": "jsonfeed",
                                              "url": http_server.url("/feed.json"), "max_items": 10}]})
    assert source.options.max_items == 10
    retriever = HttpRetriever()
    try:
        result = collect_source(source, retriever=retriever)
    finally:
        retriever.close()
    assert result.error is None
    call, news = result.announcements
    assert (call.category, call.deadline.isoformat(), call.status) == ("funding", "2030-05-17", "open")
    assert news.url == "https://agency.example.org/news/launch" and news.category == "programme"


def test_the_new_kinds_options_are_checked_like_every_other(jsonfeed_registered):
    with pytest.raises(CatalogError, match=r"unknown option 'max_item' for a jsonfeed source \(did you mean 'max_items'\?\)"):
        sources_from_data({"source": [{"id": "x", "organisation": "X", "kind": "jsonfeed",
                                       "url": "https://x.example/feed.json", "max_item": 3}]})


def test_no_stage_outside_the_kinds_branches_on_a_kind():
    """The pipeline, the runtime, the flows and the warehouse ask the kind; they never test its name."""
    names = "|".join(re.escape(k) for k in (*kinds.REGISTRY, "json"))
    pattern = re.compile(rf"kind\s*(?:==|!=|in\b)\s*[(\[]?\s*[\"'](?:{names})[\"']")
    offenders = []
    for folder in ("flows", "warehouse", "reports"):
        offenders += [p for p in (PROJECT_ROOT / folder).rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    for name in ("pipeline.py", "runtime.py", "normalize.py", "classify.py"):
        path = PROJECT_ROOT / "sources" / name
        if pattern.search(path.read_text(encoding="utf-8")):
            offenders.append(path)
    assert offenders == []
