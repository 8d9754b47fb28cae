"""Reading a JSON API's answer: what the WordPress and Funding & Tenders kinds share."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from spacedigest.sources.models import ParseError

ACCEPT_JSON = (("Accept", "application/json"),)


def load_json(body: bytes, url: str) -> Any:
    """The decoded document, or a one-line ParseError (an HTML error page, broken JSON, nothing)."""
    if not body or not body.strip():
        raise ParseError(f"empty response from {url}")
    if body.lstrip()[:1] == b"<":
        raise ParseError("not JSON: got an HTML or XML page")
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"invalid JSON: {str(exc).splitlines()[0]}") from None


def with_param(url: str, name: str, value: int) -> str:
    """`url` with the query parameter `name` set to `value` (the others kept in order)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, str(value)))
    return urlunsplit(parts._replace(query=urlencode(query, safe="*,")))
