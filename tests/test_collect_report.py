"""What a collect publishes in the Prefect UI (reports.staff.collect_table / collect_failures). Pure."""
from __future__ import annotations

from spacedigest.reports import staff
from spacedigest.warehouse.health import SourceLine

LINES = [
    SourceLine("esa", "https://esa.int/rss", "ok", found=12, new=3, http_status=200, seconds=0.4321),
    SourceLine("cnes", "https://cnes.fr/feed", "not_modified", http_status=304, seconds=0.1),
    SourceLine("evil", "https://evil.example/<feed>", "error", error="HTTP 500 <script>x</script> | *boom*\nnext",
               http_status=500, seconds=1.0),
    SourceLine("gone", "https://nowhere.example/", "error", error="unreachable: cannot resolve host nowhere.example"),
]


def test_the_table_has_one_row_per_source_with_its_status_and_figures():
    rows = staff.collect_table(LINES)
    assert [r["source"] for r in rows] == ["esa", "cnes", "evil", "gone"]
    assert rows[0] == {"source": "esa", "status": "ok", "http_status": 200, "found": 12, "new": 3, "error": "",
                       "served_by": "", "duration_s": 0.43}
    assert rows[1]["status"] == "not_modified" and rows[3]["http_status"] is None
    assert rows[2]["error"].startswith("HTTP 500")


def test_the_failures_name_each_failed_source_with_its_reason_escaped():
    text = staff.collect_failures(LINES)
    assert text.startswith("# Collect: 2 of 4 sources failed")
    assert "| gone | https://nowhere.example/ |  | unreachable: cannot resolve host nowhere.example |" in text
    evil = next(line for line in text.splitlines() if line.startswith("| evil"))
    assert "<script>" not in evil and "&lt;script&gt;" in evil  # no HTML from a server reaches the UI
    assert evil.count(" | ") == 3  # a | in the reason does not add a column
    assert "esa" not in text and "cnes" not in text
    assert "spacedigest collect --source ID" in text


def test_a_run_without_failures_says_so():
    assert staff.collect_failures(LINES[:2]) == "# Collect: no failures\n\nAll 2 sources were collected.\n"


def test_a_source_served_by_a_fallback_is_listed_apart_with_why_its_own_way_failed():
    served = SourceLine("harwell", "https://harwell.example/news", "ok", found=5, new=5,
                        served_by="fallback: announced feed https://harwell.example/feed/",
                        primary_error="the selectors matched nothing on a page that loaded")
    assert staff.collect_table([served])[0]["served_by"].startswith("fallback: announced feed")
    text = staff.collect_failures([*LINES[:2], served])
    assert text.startswith("# Collect: 0 of 3 sources failed")
    assert "## 1 served by a fallback" in text
    assert "| harwell | fallback: announced feed https://harwell.example/feed/ | the selectors matched nothing" in text
