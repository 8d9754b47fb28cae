"""Publication dates of item pages: our reader against htmldate and extruct, on the project's fixtures.

For each item page whose publication date is known (the fixture sites' post and node pages, the
hand-made site's pages, the ESA and CNES detail pages), each candidate is asked for the date:
- ours: sources.html.parse_detail (JSON-LD, then og:/article: meta, then a catalog selector);
- htmldate: find_date(original_date=True), markup only (extensive_search=False) and with its
  extensive search of the text;
- extruct: JSON-LD, microdata, RDFa and OpenGraph, datePublished / article:published_time taken.
Prints right / wrong / none per candidate and the time per page. Candidates not installed are
skipped (`pip install htmldate extruct` to run them).

    .venv/bin/python bench/detail_dates.py
"""
from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SITES = ROOT / "tests" / "fixtures" / "sites"
PAGES = ROOT / "tests" / "fixtures" / "pages"
BASE = "https://site.example"


def cases() -> list[tuple[str, bytes, date]]:
    """(name, page, publication date) for every item page of the fixtures whose date is known."""
    found = []
    wordpress = json.loads((SITES / "wordpress" / "wp-json" / "posts.json").read_text())
    for post in wordpress:
        page = SITES / "wordpress" / "posts" / f"{post['slug']}.html"
        found.append((f"wordpress/{page.stem[:28]}", page.read_bytes(), date.fromisoformat(post["date_gmt"][:10])))
    from spacedigest.sources.sitemap import read_sitemap

    sitemap = read_sitemap((SITES / "drupal" / "sitemap.xml").read_bytes().replace(b"@BASE@", BASE.encode()),
                           url=BASE)
    for listed in sitemap.entries:
        page = SITES / "drupal" / "nodes" / f"{listed.loc.rsplit('/', 1)[-1]}.html"
        if page.exists():
            found.append((f"drupal/{page.stem[:28]}", page.read_bytes(), listed.lastmod.date()))
    for page in sorted((SITES / "static" / "news").glob("*.html")):
        found.append((f"static/{page.stem}", page.read_bytes(), date(2024, int(page.stem[:2]), int(page.stem[2:]))))
    found.append(("pages/business_esa_call_detail", (PAGES / "business_esa_call_detail.html").read_bytes(),
                  date(2024, 3, 18)))
    found.append(("pages/cnes_article_detail", (PAGES / "cnes_article_detail.html").read_bytes(), date(2024, 11, 18)))
    return [(name, body.replace(b"@BASE@", BASE.encode()), day) for name, body, day in found]


def ours(body: bytes) -> date | None:
    from spacedigest.sources.html import HtmlOptions, parse_detail
    from spacedigest.sources.models import Source

    source = Source(id="x", organisation="X", kind="html", url=BASE, options=HtmlOptions(item_selector="x"))
    entry = parse_detail(body, url=BASE + "/item", source=source)
    return entry.published.date() if entry.published else None


def htmldate_markup(body: bytes) -> date | None:
    from htmldate import find_date

    found = find_date(body.decode("utf-8", "replace"), original_date=True, extensive_search=False)
    return date.fromisoformat(found) if found else None


def htmldate_extensive(body: bytes) -> date | None:
    from htmldate import find_date

    found = find_date(body.decode("utf-8", "replace"), original_date=True, extensive_search=True)
    return date.fromisoformat(found) if found else None


def extruct_metadata(body: bytes) -> date | None:
    import extruct

    data = extruct.extract(body.decode("utf-8", "replace"), base_url=BASE,
                           syntaxes=["json-ld", "microdata", "opengraph", "rdfa"], uniform=True)
    values = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("datePublished", "article:published_time") and isinstance(value, str):
                    values.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(data)
    return date.fromisoformat(values[0][:10]) if values else None


CANDIDATES = {"ours": ours, "htmldate (markup)": htmldate_markup, "htmldate (extensive)": htmldate_extensive,
              "extruct": extruct_metadata}


def main() -> None:
    pages = cases()
    print(f"{len(pages)} item pages with a known publication date")
    print(f"{'candidate':<22} {'right':>5} {'wrong':>5} {'none':>5} {'ms/page':>8}  wrong or missing")
    for name, read in CANDIDATES.items():
        try:
            read(pages[0][1])
        except ImportError:
            print(f"{name:<22} (not installed)")
            continue
        right = wrong = none = 0
        misses = []
        started = time.perf_counter()
        for label, body, expected in pages:
            got = read(body)
            if got == expected:
                right += 1
            elif got is None:
                none += 1
                misses.append(f"{label}: none")
            else:
                wrong += 1
                misses.append(f"{label}: {got} (is {expected})")
        per_page = (time.perf_counter() - started) * 1000 / len(pages)
        shown = "; ".join(sorted({m.split("/")[0] + ": " + m.split(": ", 1)[1] for m in misses}))
        print(f"{name:<22} {right:>5} {wrong:>5} {none:>5} {per_page:>8.1f}  {shown[:150]}")


if __name__ == "__main__":
    main()
