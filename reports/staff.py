"""The staff report on source health: plain text from a template, optionally mailed. Pure."""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

import jinja2

from spacedigest.reports.digest import TOKYO
from spacedigest.reports.mail import build_notice
from spacedigest.reports.render import md_escape

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


# --- one collect, as its Prefect artifacts show it ----------------------------------------------

def collect_table(lines) -> list[dict]:
    """One row per source of a collect (warehouse.health.SourceLine), for the run's table artifact."""
    return [{"source": line.source_id, "status": line.status, "http_status": line.http_status,
             "found": line.found, "new": line.new, "error": line.error or "",
             "served_by": line.served_by or "",
             "duration_s": round(line.seconds, 2)} for line in lines]


def collect_failures(lines) -> str:
    """The failed sources of a collect with their reasons, and the sources a fallback served (their
    own way still needs fixing), as Markdown; text from the sources' servers is escaped: it is
    shown in the Prefect UI."""
    failed = [line for line in lines if line.status == "error"]
    fallen_back = [line for line in lines if line.served_by and line.status != "error"]
    if not failed and not fallen_back:
        return f"# Collect: no failures\n\nAll {len(lines)} sources were collected.\n"
    text = f"# Collect: {len(failed)} of {len(lines)} sources failed\n"
    if failed:
        rows = "".join(f"| {md_escape(line.source_id)} | {md_escape(line.url)} | {line.http_status or ''} | "
                       f"{md_escape(line.error or '')} |\n" for line in failed)
        text += ("\n| source | URL | HTTP status | reason |\n|---|---|---|---|\n" + rows +
                 "\nEach is retried at its next check (with backoff); `spacedigest collect --source ID` "
                 "re-collects one now.\n")
    if fallen_back:
        rows = "".join(f"| {md_escape(line.source_id)} | {md_escape(line.served_by)} | "
                       f"{md_escape(line.primary_error or '')} |\n" for line in fallen_back)
        text += (f"\n## {len(fallen_back)} served by a fallback\n\nTheir items arrived; their own way "
                 "failed and needs fixing (`spacedigest sources check ID` shows the new selectors).\n\n"
                 "| source | served by | why its own way failed |\n|---|---|---|\n" + rows)
    return text
