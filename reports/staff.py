"""The staff report on source health: plain text from a template, optionally mailed. Pure."""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

import jinja2

from spacedigest.reports.digest import TOKYO
from spacedigest.reports.mail import build_notice

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("spacedigest.reports", "templates"), autoescape=False,
                          keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def _jst(moment: datetime | None) -> str:
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M JST") if moment else "never"


def render_health(total: int, attention: list[dict], *, now: datetime) -> str:
    _ENV.filters["jst"] = _jst
    return _ENV.get_template("staff_health.txt.j2").render(total=total, attention=attention, now=now)


def health_message(text: str, *, sender: str, to: str, count: int, now: datetime) -> EmailMessage:
    """A plain-text mail to the staff address; both addresses validated, no header injection."""
    return build_notice(to=to, subject=f"spacedigest: {count} source(s) need attention", text=text, sender=sender,
                        now=now)
