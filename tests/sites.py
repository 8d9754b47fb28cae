"""Whole web sites for tests, served by tests/httpserver.py: written the way the platforms render them.

    serve_site(http_server, "wordpress", "classic")   # -> the site's base URL
    serve_site(http_server, "wordpress", "redesigned")  # the same site after a redesign (routes replaced)

- wordpress: a classic theme's posts page (/news/, `article.post` with `h2.entry-title`), the block
  theme that replaced it (`li.wp-block-post`), `/feed/` and `/comments/feed/` (RSS 2.0 with `?p=ID`
  guids), the REST API (`/wp-json/`, `/wp-json/wp/v2/posts` with X-WP-Total), the core sitemaps
  (`/wp-sitemap.xml` index and its children), robots.txt with its `Sitemap:` line, Yoast-style post
  pages (JSON-LD graph, `article:published_time`). Variant "nofeed": the block theme with feeds
  switched off (a plugin): no feed announced or served, the REST API still on.
- drupal: a views page (/news: `div.views-row` with `views-field-*`), the Olivero teasers that
  replaced it, the view's feed `/news/rss.xml` and the front page's `/rss.xml` (guids "412 at
  https://…"), simple_sitemap's `/sitemap.xml` with lastmod, core's robots.txt, node pages with
  only a written date. Variant "nofeed": Olivero without the feed display or the front page feed.
- static: a hand-made Japanese site (/news/: a `ul.news` of dated links, UTF-8); redesigned, a
  layout table with kanji dates served in Shift_JIS with no charset declared anywhere. No feed,
  no sitemap, no robots.txt.

Files live under tests/fixtures/sites/<site>/; `@BASE@` in them is replaced by the server's base URL.
"""
from __future__ import annotations

import re
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sites"

HTML = "text/html; charset=UTF-8"
RSS = "application/rss+xml; charset=UTF-8"
XML = "application/xml; charset=UTF-8"
JSON = "application/json; charset=UTF-8"
TEXT = "text/plain; charset=UTF-8"

WORDPRESS_POSTS = (
    "applications-open-2024-space-incubation-programme",
    "call-for-proposals-in-orbit-demonstration-small-satellite-payloads",
    "partnership-japanese-launch-provider-uk-start-ups",
    "space-sustainability-week-open-day-20-june",
    "earth-observation-analytics-challenge-funding-round-closes",
    "new-accelerator-cohort-eight-companies-join-the-hub",
)
DRUPAL_NODES = (
    "bic-nordic-call-for-start-ups-autumn-2024",
    "arctic-ground-station-services-tender",
    "space-industry-day-tromso-2024",
    "cooperation-agreement-jaxa-earth-observation-data",
    "national-space-programme-funding-2025-opens",
    "small-satellite-launch-opportunity-andoya",
)
STATIC_PAGES = ("0426", "0502", "0510", "0514", "0520")


# A site whose feeds were switched off renders the same pages without announcing them.
_FEED_ANNOUNCED = re.compile(r'<link rel="alternate" type="application/rss\+xml"[^>]*>\n'
                             r'|\s*<a href="[^"]*" class="feed-icon">.*?</a>', re.DOTALL)


def without_feeds(text: str) -> str:
    return _FEED_ANNOUNCED.sub("", text)


def _wordpress(variant: str) -> dict[str, dict]:
    api_link = {"Link": '<@BASE@/wp-json/>; rel="https://api.w.org/"'}
    listing = {"file": "redesigned/news.html", "edit": without_feeds} if variant == "nofeed" else \
        {"file": f"{variant}/news.html"}
    routes = {
        "/news/": {**listing, "type": HTML, "headers": api_link},
        "/wp-json/": {"file": "wp-json/index.json", "type": JSON},
        "/wp-json/wp/v2/posts": {"file": "wp-json/posts.json", "type": JSON,
                                 "headers": {"X-WP-Total": "6", "X-WP-TotalPages": "1"}},
        "/wp-sitemap.xml": {"file": "wp-sitemap.xml", "type": XML},
        "/robots.txt": {"file": "robots.txt", "type": TEXT},
    }
    for name in ("wp-sitemap-posts-post-1", "wp-sitemap-posts-page-1", "wp-sitemap-taxonomies-category-1",
                 "wp-sitemap-users-1"):
        routes[f"/{name}.xml"] = {"file": f"{name}.xml", "type": XML}
    for slug in WORDPRESS_POSTS:
        routes[f"/news/{slug}/"] = {"file": f"posts/{slug}.html", "type": HTML, "headers": api_link}
    if variant != "nofeed":
        routes["/feed/"] = {"file": "feed.xml", "type": RSS}
        routes["/comments/feed/"] = {"file": "comments-feed.xml", "type": RSS}
    return routes


def _drupal(variant: str) -> dict[str, dict]:
    listing = {"file": "redesigned/news.html", "edit": without_feeds} if variant == "nofeed" else \
        {"file": f"{variant}/news.html"}
    routes = {
        "/news": {**listing, "type": HTML},
        "/sitemap.xml": {"file": "sitemap.xml", "type": XML},
        "/robots.txt": {"file": "robots.txt", "type": TEXT},
    }
    for slug in DRUPAL_NODES:
        routes[f"/news/{slug}"] = {"file": f"nodes/{slug}.html", "type": HTML}
    if variant != "nofeed":
        routes["/news/rss.xml"] = {"file": "news-rss.xml", "type": RSS}
        routes["/rss.xml"] = {"file": "rss.xml", "type": RSS}
    return routes


def _static(variant: str) -> dict[str, dict]:
    # The redesign is served as an old server would: Shift_JIS, and no charset anywhere.
    listing = ({"file": "redesigned/news.html", "type": "text/html", "encoding": "cp932"} if variant == "redesigned"
               else {"file": "classic/news.html", "type": "text/html"})
    routes = {"/news/": listing}
    for page in STATIC_PAGES:
        routes[f"/news/2024/{page}.html"] = {"file": f"news/{page}.html", "type": "text/html"}
    return routes


SITES = {"wordpress": _wordpress, "drupal": _drupal, "static": _static}
# The page staff would give `sources discover` (and an html source's url), per site.
LISTING = {"wordpress": "/news/", "drupal": "/news", "static": "/news/"}


def serve_site(server, site: str, variant: str = "classic") -> str:
    """Serve `site` as `variant` on `server` (routes of another variant are replaced); the base URL."""
    routes = SITES[site](variant)
    for other in {p for v in ("classic", "redesigned", "nofeed") for p in SITES[site](v)} - set(routes):
        server.remove(other)
    for path, route in routes.items():
        text = (FIXTURES / site / route["file"]).read_text(encoding="utf-8")
        text = route.get("edit", str)(text).replace("@BASE@", server.base_url)
        headers = {k: v.replace("@BASE@", server.base_url) for k, v in route.get("headers", {}).items()}
        server.add(path, body=text.encode(route.get("encoding", "utf-8")), content_type=route["type"],
                   headers=headers or None)
    return server.base_url


def listing_url(server, site: str) -> str:
    return server.url(LISTING[site])
