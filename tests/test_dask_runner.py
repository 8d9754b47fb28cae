"""The scale-out path: the collect flow's lanes run on a Dask cluster through prefect-dask.

A real local Dask cluster (in this process, threads) and a real local HTTP server; the
`spacedigest collect` command is pointed at the cluster by address, as an operator would point
it at an existing cluster.
"""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow  # see tests/conftest.py: the fast tier leaves these out

pytest.importorskip("prefect_dask", reason="the dask extra (prefect-dask) is not installed")
distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title><link>https://example.org/</link>
{items}</channel></rss>"""
ITEM = ("<item><title>Call for proposals {n}-{i}: lunar logistics</title><link>https://example.org/{n}/{i}</link>"
        "<guid>g-{n}-{i}</guid><pubDate>Mon, 06 Jan 2025 09:00:00 GMT</pubDate>"
        "<description>Apply by 30 March 2025.</description></item>")


def test_collect_runs_on_a_dask_cluster(cli, http_server, tmp_path):
    lines = []
    for n in range(4):
        http_server.add(f"/feed{n}.xml", body=RSS.format(n=n, items="".join(ITEM.format(n=n, i=i) for i in range(3))),
                        etag=f'"v{n}"')
        lines += ["[[source]]", f'id = "dask-{n}"', 'organisation = "Bench"', 'kind = "feed"',
                  f'url = "{http_server.url(f"/feed{n}.xml")}"', ""]
    catalog = tmp_path / "catalog.toml"
    catalog.write_text("\n".join(lines))

    with distributed.LocalCluster(n_workers=1, threads_per_worker=4, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        env = {"SPACEDIGEST_SOURCES": str(catalog), "SPACEDIGEST_TASK_RUNNER": "dask",
               "SPACEDIGEST_DASK_ADDRESS": cluster.scheduler_address}
        first = cli("collect", env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "4 sources, 4 ok, 0 failed; 12 new items" in first.stdout
        # The lanes really ran on the cluster: its scheduler holds the record of them (the four
        # sources share one host, so they are one lane).
        with distributed.Client(cluster.scheduler_address) as client:
            prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
        assert "lane_task" in prefixes
        second = cli("collect", env=env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "0 new items" in second.stdout and second.stdout.count("not modified") == 4

    rows = json.loads(cli("query", "select count(*) as n from items", "--format", "json").stdout)
    assert rows == [{"n": 12}]
