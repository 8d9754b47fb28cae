"""Optional machine translation (issue 12): DeepL and an OpenAI-compatible chat endpoint, each played by
a local HTTP server that speaks the API's documented request and answer; each text translated once,
a budget per run, a failing translator never failing the digest."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from spacedigest.reports.translate import DeepL, OpenAICompatible, text_hash, translate_missing


def json_api(make):
    """A route handler answering JSON computed from the request's JSON body."""
    def handler(h):
        body = json.dumps(make(h.request, json.loads(h.request.body or b"{}"))).encode()
        h.close_after(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n" + body)
    return handler


def deepl_answer(request, payload):
    assert request.headers["Authorization"] == "DeepL-Auth-Key secret:fx"
    assert payload["target_lang"] == "JA"
    return {"translations": [{"detected_source_language": "EN", "text": f"訳:{t}"} for t in payload["text"]]}


def test_deepl_translates_each_text_once_within_the_budget(http_server):
    http_server.add("/v2/translate", handler=json_api(deepl_answer))
    deepl = DeepL("secret:fx", http_server.url(""))
    texts = ["Call for proposals", "Open to companies worldwide.", "Call for proposals", "A" * 50]
    known = {text_hash("Already translated"): "翻訳済み"}
    outcome = translate_missing(texts + ["Already translated"], known, deepl, budget=60)
    assert outcome.translations == {text_hash("Call for proposals"): "訳:Call for proposals",
                                    text_hash("Open to companies worldwide."): "訳:Open to companies worldwide."}
    assert outcome.left_for_later == 1 and outcome.warning is None  # 50 more characters would pass the budget
    sent = json.loads(http_server.requests[0].body)["text"]
    assert sent == ["Call for proposals", "Open to companies worldwide."]  # once each; nothing known sent again


def test_an_openai_compatible_endpoint(http_server):
    def chat(request, payload):
        assert request.path == "/v1/chat/completions" and payload["model"] == "qwen2.5:7b"
        assert payload["messages"][0]["role"] == "system" and "Japanese" in payload["messages"][0]["content"]
        return {"choices": [{"index": 0, "message": {"role": "assistant",
                                                     "content": f"訳:{payload['messages'][1]['content']}"}}]}

    http_server.add("/v1/chat/completions", handler=json_api(chat))
    outcome = translate_missing(["Space for ports"], {}, OpenAICompatible(http_server.url("/v1"), "qwen2.5:7b"))
    assert outcome.translations == {text_hash("Space for ports"): "訳:Space for ports"}


def test_a_failing_translator_is_one_warning_and_the_originals_stay(http_server):
    http_server.add("/v2/translate", status=456, body=b'{"message": "Quota exceeded"}', content_type="application/json")
    outcome = translate_missing(["Call"], {}, DeepL("secret", http_server.url("")))
    assert outcome.translations == {}
    assert outcome.warning.startswith("translate: DeepL at http://127.0.0.1:") and "HTTP 456" in outcome.warning
    assert "\n" not in outcome.warning and outcome.warning.endswith("originals used")
    nowhere = translate_missing(["Call"], {}, OpenAICompatible("http://127.0.0.1:9/v1", "m"))
    assert nowhere.translations == {} and "ConnectionError" in nowhere.warning


def test_the_digest_shows_machine_translations_marked_and_asks_once(tmp_path, monkeypatch, http_server):
    from spacedigest.flows import jobs
    from spacedigest.flows.settings import load_settings
    from spacedigest.sources.classify import enrich
    from spacedigest.sources.models import Announcement
    from spacedigest.warehouse import db, load

    http_server.add("/v2/translate", handler=json_api(lambda request, payload: {
        "translations": [{"text": f"【訳】{t}"} for t in payload["text"]]}))
    for name, value in {"SPACEDIGEST_HOME": str(tmp_path / "home"), "SPACEDIGEST_TRANSLATE": "deepl",
                        "SPACEDIGEST_DEEPL_KEY": "secret", "SPACEDIGEST_DEEPL_URL": http_server.url("")}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    seen = datetime(2026, 11, 24, 3, tzinfo=timezone.utc)
    call = enrich(Announcement(source_id="esa", organisation="ESA", entry_key="k", title="Call for lunar logistics",
                               url="https://esa.example/c", guid="c", summary="Companies from any country may apply.",
                               published_at=seen, published_estimated=False, language="en", content_hash="h"),
                  fetched_at=seen)
    with db.writer(settings.home) as con:
        load.load_announcements(con, [call], seen_at=seen)
    report = jobs.build_digest(settings, week="2026-W48", now=seen)
    html = open(report.paths["ja"]["html"], encoding="utf-8").read()
    assert "【訳】Call for lunar logistics" in html and "機械翻訳" in html and "原題: Call for lunar logistics" in html
    english = open(report.paths["en"]["html"], encoding="utf-8").read()
    assert "【訳】" not in english  # the English digest shows the original
    assert len(http_server.requests) == 1 and report.warnings == []
    jobs.build_digest(settings, week="2026-W48", now=seen)
    assert len(http_server.requests) == 1  # kept in the warehouse: not asked again
    with db.reader(settings.home) as con:
        assert con.execute("select provider, count(*) from translations group by 1").fetchall() == [("deepl", 2)]
