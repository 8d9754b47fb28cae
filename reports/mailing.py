"""The digest as each subscriber receives it: their selection, in their language, with their own
unsubscribe link (pure: no network, no files)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Iterator
from urllib.parse import urljoin

from spacedigest.reports import digest as dg, mail, render
from spacedigest.sources.headline import Rates
from spacedigest.sources.models import DigestItem, Subscriber


def digest_messages(subscribers: Iterable[Subscriber], items: list[DigestItem], window: dg.Window, *,
                    sender: str, site_url: str, unsubscribe_base: str, now: datetime,
                    eight_bit: Callable[[], bool] = lambda: False,
                    rates: Rates | None = None) -> Iterator[tuple[Subscriber, object]]:
    """(subscriber, message) pairs, built lazily so 10k messages never sit in memory at once.
    `eight_bit()` is asked once, when the first message is built (for SMTP it opens the
    connection: a send with nobody to send to never contacts the server).

    The body is rendered once per (language, filters) and is the same for everyone in that group
    (so it is encoded once too); what is personal sits in the headers: the address and the
    one-click List-Unsubscribe link with the subscriber's token. The body links to the
    unsubscribe page itself."""
    rendered: dict[tuple, tuple[str, str, str]] = {}
    links = {"archive": urljoin(site_url, "index.html"), "calendar": urljoin(site_url, "calendar.ics"),
             "atom": urljoin(site_url, "feed.atom"), "unsubscribe": unsubscribe_base}
    use_8bit = None
    for sub in subscribers:
        if use_8bit is None:
            use_8bit = bool(eight_bit())
        key = (sub.language, tuple(sorted(sub.organisations or ())), tuple(sorted(sub.categories or ())),
               sub.eligible_only)
        if key not in rendered:
            chosen = dg.select_items(items, window, organisations=sub.organisations or None,
                                     categories=sub.categories or None, eligible_only=sub.eligible_only)
            digest = dg.build_digest(chosen, window, lang=sub.language, generated_at=now, rates=rates)
            rendered[key] = (render.subject(digest), render.render(digest, "txt", links=links),
                             render.render(digest, "html", links=links))
        subject, text, html = rendered[key]
        yield sub, mail.build_message(
            subscriber=sub, subject=subject, text=text, html=html, sender=sender,
            unsubscribe_url=mail.unsubscribe_url(unsubscribe_base, sub.token), now=now, eight_bit=use_8bit,
        )
