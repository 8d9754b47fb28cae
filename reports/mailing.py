"""The digest as each subscriber receives it: their selection, in their language, with their own
unsubscribe and preferences links (pure: no network, no files)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Iterator
from urllib.parse import urljoin

from spacedigest.reports import digest as dg, mail, render
from spacedigest.sources.headline import Rates
from spacedigest.reports.subscribers import TOKEN_LENGTH
from spacedigest.sources.models import DigestItem, Subscriber

# Stands for the subscriber's token in a body rendered once per group; filled per message. As long as a
# token, of letters, digits and '_' only: it passes URL quoting and HTML escaping unchanged, as a token does.
TOKEN_SLOT = "TOKENSLOT_5f2c9a0e" + "_" * (TOKEN_LENGTH - 18)


def personal_links(site_url: str, token: str) -> dict[str, str]:
    """The subscriber's own pages on the web app: one-click unsubscribe and preferences."""
    return {"unsubscribe": mail.unsubscribe_url(urljoin(site_url, "unsubscribe"), token),
            "preferences": mail.unsubscribe_url(urljoin(site_url, "preferences"), token)}


def site_links(site_url: str) -> dict[str, str]:
    return {"archive": urljoin(site_url, "index.html"), "calendar": urljoin(site_url, "calendar.ics"),
            "atom": urljoin(site_url, "feed.atom")}


def digest_messages(subscribers: Iterable[Subscriber], items: list[DigestItem], window: dg.Window, *,
                    sender: str, site_url: str, now: datetime, legal: dict[str, str] | None = None,
                    alert: bool = False, eight_bit: Callable[[], bool] = lambda: False,
                    rates: Rates | None = None) -> Iterator[tuple[Subscriber, object]]:
    """(subscriber, message) pairs, built lazily so 10k messages never sit in memory at once.
    `eight_bit()` is asked once, when the first message is built (for SMTP it opens the
    connection: a send with nobody to send to never contacts the server).

    The body is rendered once per (language, filters) group; each message gets it with the
    subscriber's token in its links (unsubscribe, preferences), and the one-click List-Unsubscribe
    header. `alert`: the short daily alert of new calls a Japanese company may apply to (give it
    the `alert_recipients`)."""
    rendered: dict[tuple, tuple[str, str, str]] = {}
    links = {**site_links(site_url), **personal_links(site_url, TOKEN_SLOT)}
    unsubscribe_base = urljoin(site_url, "unsubscribe")
    use_8bit = None
    for sub in subscribers:
        key = _group(sub, alert)
        if key not in rendered:
            digest = dg.build_digest(_selection(sub, items, window, alert), window, lang=sub.language, generated_at=now,
                                     rates=rates)
            template = "alert" if alert else "digest"
            rendered[key] = (render.subject(digest, alert=alert),
                             render.render(digest, "txt", links=links, legal=legal, template=template),
                             render.render(digest, "html", links=links, legal=legal, template=template))
        if use_8bit is None:
            use_8bit = bool(eight_bit())
        subject, text, html = rendered[key]
        yield sub, mail.build_message(
            subscriber=sub, subject=subject, text=text, html=html, sender=sender, personal=(TOKEN_SLOT, sub.token),
            unsubscribe_url=mail.unsubscribe_url(unsubscribe_base, sub.token), now=now, eight_bit=use_8bit,
        )


def _group(sub: Subscriber, alert: bool) -> tuple:
    return (sub.language, tuple(sorted(sub.organisations or ())), tuple(sorted(sub.categories or ())),
            sub.eligible_only or alert)


def _selection(sub: Subscriber, items: list[DigestItem], window: dg.Window, alert: bool) -> list[DigestItem]:
    return dg.select_items(items, window, organisations=sub.organisations or None, categories=sub.categories or None,
                           eligible_only=sub.eligible_only or alert)


def alert_recipients(subscribers: Iterable[Subscriber], items: list[DigestItem], window: dg.Window) -> list[Subscriber]:
    """Who gets today's alert: subscribers who asked for it and have a new call they may apply to
    among their organisations and categories."""
    has_news: dict[tuple, bool] = {}
    chosen = []
    for sub in subscribers:
        if sub.frequency != "weekly+daily":
            continue
        key = _group(sub, True)
        if key not in has_news:
            has_news[key] = bool(_selection(sub, items, window, True))
        if has_news[key]:
            chosen.append(sub)
    return chosen
