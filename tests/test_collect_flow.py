"""The collect flow itself, in this process: a source whose task breaks (a bug, not a bad
feed) is retried, then reported as that source's failure while the others load."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.test_e2e import catalog_toml, fresh_feed


def test_a_task_that_raises_fails_only_its_source(tmp_path, monkeypatch, http_server, prefect_api):
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    import flows.collect as collect

    http_server.add("/a.xml", body=fresh_feed(datetime.now(timezone.utc), n=2))
    http_server.add("/b.xml", body=fresh_feed(datetime.now(timezone.utc), n=2, prefix="Tender"))
    (tmp_path / "c.toml").write_text(catalog_toml([("healthy", "ESA", http_server.url("/a.xml")),
                                                  ("broken", "ESA", http_server.url("/b.xml"))]))
    monkeypatch.setenv("SPACEDIGEST_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPACEDIGEST_SOURCES", str(tmp_path / "c.toml"))
    calls = []
    real = collect._collect

    def sometimes_broken(source, url, validators, ctx):
        calls.append(source.id)
        if source.id == "broken":
            raise RuntimeError("simulated bug")
        return real(source, url, validators, ctx)

    monkeypatch.setattr(collect, "_collect", sometimes_broken)
    with temporary_settings(updates={PREFECT_API_URL: prefect_api, PREFECT_LOGGING_TO_API_ENABLED: False}):
        report = collect.collect_flow()
    lines = {line.source_id: line for line in report.lines}
    assert lines["healthy"].status == "ok" and lines["healthy"].new == 2
    assert lines["broken"].status == "error"
    assert lines["broken"].error == "internal error: RuntimeError: simulated bug"
    assert calls.count("broken") == 2  # retried once
