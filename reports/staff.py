"""The staff report on source health: plain text from a template, optionally mailed. Pure."""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import jinja2

from spacedigest.reports.digest import TOKYO
from spacedigest.reports.mail import parse_sender
from spacedigest.reports.subscribers import normalize_email

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("spacedigest.reports", "templates"), autoescape=False,
                          keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def _jst(moment: datetime | None) -> str:
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M JST") if moment else "never"


def render_health(total: int, attention: list[dict], *, now: datetime) -> str:
    _ENV.filters["jst"] = _jst
    return _ENV.get_template("staff_health.txt.j2").render(total=total, attention=attention, now=now)


def health_message(text: str, *, sender: str, to: str, count: int, now: datetime) -> EmailMessage:
    """A plain-text mail to the staff address; both addresses validated, no header injection."""
    msg = EmailMessage()
    from_address = parse_sender(sender)
    msg["From"] = from_address
    msg["To"] = normalize_email(to)
    msg["Subject"] = f"spacedigest: {count} source(s) need attention"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=from_address.domain or None)
    msg.set_content(text)
    return msg


# --- one collect, as its Prefect artifacts show it ----------------------------------------------

def collect_table(lines) -> list[dict]:
    """One row per source of a collect (warehouse.health.SourceLine), for the run's table artifact."""
    return [{"source": line.source_id, "status": line.status, "http_status": line.http_status,
             "found": line.found, "new": line.new, "error": line.error or "",
             "duration_s": round(line.seconds, 2)} for line in lines]


def collect_failures(lines) -> str:
    """The failed sources of a collect with their reasons, as Markdown (text from the sources'
    servers is escaped: it is shown in the Prefect UI)."""
    failed = [line for line in lines if line.status == "error"]
    if not failed:
        return f"# Collect: no failures\n\nAll {len(lines)} sources were collected.\n"
    rows = "".join(f"| {_md(line.source_id)} | {_md(line.url)} | {line.http_status or ''} | {_md(line.error or '')} |\n"
                   for line in failed)
    return (f"# Collect: {len(failed)} of {len(lines)} sources failed\n\n"
            "| source | URL | HTTP status | reason |\n|---|---|---|---|\n" + rows +
            "\nEach is retried at its next check (with backoff); `spacedigest collect --source ID` "
            "re-collects one now.\n")


_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_{}[]()<>#+!|~&"} | {"\n": " ", "\r": " "})


def _md(text: str) -> str:
    return str(text).translate(_MD_SPECIAL)
