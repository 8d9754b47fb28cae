"""A tiny, untimed run of each benchmark piece: they must produce figures (a broken harness would
otherwise only show up in `make bench`)."""
from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from bench import bench_module

pytestmark = pytest.mark.slow  # see tests/conftest.py: the fast tier leaves these out


def test_feed_server_serves_feeds_and_revalidates():
    server = bench_module("server")
    assert server.generated_feed(3) == server.generated_feed(3)  # deterministic
    with server.FeedServer(5, latency=0.0, hosts=2, corpus="none") as farm:
        assert len(farm.urls) == 5 and {u.split("/")[2].split(":")[0] for u in farm.urls} == {"127.0.0.1", "127.0.0.2"}
        with urllib.request.urlopen(farm.urls[0], timeout=5) as response:
            etag, body = response.headers["ETag"], response.read()
        assert body.count(b"<item>") >= 20
        request = urllib.request.Request(farm.urls[0], headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as not_modified:
            urllib.request.urlopen(request, timeout=5)
        assert not_modified.value.code == 304


def test_collect_bench_measures_spacedigest_and_reader(prefect_api, tmp_path):
    collect = bench_module("collect")
    server = bench_module("server")
    with server.FeedServer(5, latency=0.0, hosts=2, corpus="none") as farm:
        catalog = collect.write_catalog(farm.urls, tmp_path / "catalog.toml")
        home = tmp_path / "home"
        home.mkdir()
        first = collect.spacedigest_collect("spacedigest", catalog, home, api_url=prefect_api, workers=4)
        again = collect.spacedigest_collect("rerun", catalog, home, api_url=prefect_api, workers=4)
        again.task_runs, first.task_runs = collect.task_runs_of_latest_collects(prefect_api, 2)
        urls = tmp_path / "urls.txt"
        urls.write_text("\n".join(farm.urls))
        reader = collect.reader_update("reader", urls, tmp_path / "reader.sqlite", 4)
    assert first.note == "" and first.fetches == 5 and first.entries >= 100 and first.flow_s > 0
    assert again.entries == 0 and again.failed == 0
    assert reader.entries >= 100 and reader.failed == 0
    # plan, one lane (4 workers, 4 per host), load, health
    assert first.retries == again.retries == 0 and first.task_runs == again.task_runs == 4
    assert first.tree_rss_mb > 0 and first.peak_rss_mb > 0
    assert "reader" in collect.table([first, again, reader])


def test_the_collect_bench_counts_the_prefect_clients_back_offs(http_server, tmp_path):
    """A Prefect API answering 503 once: the client backs off and retries, and the bench counts it."""
    import subprocess
    import sys

    collect = bench_module("collect")
    http_server.add("/api/health", sequence=[{"status": 503, "headers": {"Retry-After": "0"}},
                                             {"body": "true", "content_type": "application/json"}])
    env = {**collect._base_env(), **collect.CLIENT_DEBUG, "PREFECT_API_URL": http_server.url("/api"),
           "PREFECT_HOME": str(tmp_path)}
    script = "from prefect.logging.configuration import setup_logging\nsetup_logging()\n" \
             "from prefect.client.orchestration import get_client\n" \
             "with get_client(sync_client=True) as client:\n    print(client.api_healthcheck())"
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "None", result.stderr[-2000:]
    assert http_server.hits["/api/health"] == 2
    assert collect.client_retries(result.stderr) == 1


def test_the_scaling_bench_measures_each_size_against_the_network_bound():
    collect = bench_module("collect")
    results = collect.scaling((10, 20), latency=0.0, workers=8)
    assert [(s.feeds, s.hosts) for s in results] == [(10, 1), (20, 2)]
    assert all(s.run.failed == 0 and s.run.fetches == s.feeds and s.startup_s > 0 for s in results)
    assert [s.run.task_runs for s in results] == [4, 5]  # plan, a lane per host, load, health
    assert "(wall-start)/bound" in collect.scale_table(results)


def test_warehouse_and_send_benches_produce_figures():
    figures = bench_module("warehouse").run(load_items=500, history=2_000, week_items=50)
    assert figures[0].unit == "items/s" and figures[0].value > 0
    assert all(f.value > 0 for f in figures)
    rate, seconds, sent = bench_module("send").run(subscribers=20, items=5)
    assert sent == 20 and rate > 0


def test_startup_bench_measures_imports():
    startup = bench_module("startup")
    figures = startup.run(repeat=1, sections=("imports",))
    names = [f.name for f in figures]
    assert "import prefect" in names and all(f.seconds > 0 for f in figures)
    assert "import prefect" in startup.table(figures)


def test_detail_dates_bench_produces_figures():
    # (bench/dns.py is exercised by tests/test_dns.py; its offline-catalog figure would reach the
    # internet on a machine that has it)
    from bench import detail_dates

    pages = detail_dates.cases()
    assert len(pages) == 19
    right = sum(detail_dates.ours(body) == day for _, body, day in pages)
    assert right >= 14  # metadata, then htmldate from the markup (bench/README.md)
