"""Subscribers: validation of addresses, names and preferences, and CSV import (pure).

The mailing list is the association's memory and every value in it ends up in a mail header,
so everything is checked here, once, before it reaches the warehouse: addresses go through
email-validator, names lose every character that could break or spoof a header, and a CSV
import spacedigest.reports each bad row by number while importing the others.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
from dataclasses import replace

import email_validator

from spacedigest.sources.models import Subscriber
from spacedigest.sources.text import one_line

LANGUAGES = ("ja", "en")
FREQUENCIES = ("weekly", "weekly+daily")  # weekly+daily: also a short alert when a new call open to Japan appears
COMPANY_MAX = 100  # characters
TOKEN_BYTES = 24  # 192 random bits per token
TOKEN_LENGTH = 32  # characters of its URL-safe form
NAME_MAX = 100  # characters; a display name longer than this is truncated
LIST_ITEM_MAX = 64  # characters per organisation / category name
LIST_MAX = 50  # organisations or categories per subscriber
CSV_COLUMNS = ("email", "name", "language", "organisations", "categories", "eligible_only")
_YES = {"1", "true", "yes", "y", "x", "はい", "○", "◯"}
_NO = {"", "0", "false", "no", "n", "いいえ"}
CSV_REQUIRED = ("email",)
_VALUE_ECHO_MAX = 80  # how much of a bad value an error message repeats

class InvalidSubscriber(ValueError):
    """A subscriber value that cannot be accepted; the message is one line naming field and value."""

    def __init__(self, field_name: str, value: object, reason: str):
        self.field = field_name
        self.value = value
        super().__init__(f"invalid {field_name} {_echo(value)}: {reason}")


def _echo(value: object) -> str:
    """repr() keeps CR/LF and other control characters visible, so the message stays one line."""
    text = repr(value)
    return text if len(text) <= _VALUE_ECHO_MAX else text[: _VALUE_ECHO_MAX - 4] + "…" + text[-1]


def clean_name(name: str) -> str:
    """A display name that is safe in a header: one line, no control or bidi characters, capped."""
    return one_line(name or "", NAME_MAX)


def normalize_email(raw: str) -> str:
    """The lower-cased ASCII form of one bare address, or InvalidSubscriber saying why not.

    Lower-casing the whole address (not only the domain) makes duplicates that differ only in
    case one subscriber, which is what every real mail system does in practice. International
    domains are kept in their IDNA (xn--) form so headers and SMTP stay plain ASCII; a non-ASCII
    local part would need SMTPUTF8 end to end and is refused.
    """
    if not isinstance(raw, str):
        raise InvalidSubscriber("address", raw, "not a string")
    if any(ch in raw for ch in "\r\n\x00"):
        raise InvalidSubscriber("address", raw, "line breaks and NUL are not allowed in an address")
    candidate = raw.strip()
    if not candidate:
        raise InvalidSubscriber("address", raw, "empty")
    if "<" in candidate or ">" in candidate:
        raise InvalidSubscriber("address", raw, "give the bare address, without a display name or angle brackets")
    if any(sep in candidate for sep in ",;") or candidate.count("@") > 1 and "@@" not in candidate:
        raise InvalidSubscriber("address", raw, "one address only")
    if "@@" in candidate:
        raise InvalidSubscriber("address", raw, "'@' twice in a row")
    try:
        checked = email_validator.validate_email(
            candidate, check_deliverability=False, allow_smtputf8=False,
            allow_display_name=False, allow_quoted_local=False, allow_domain_literal=False,
        )
    except email_validator.EmailNotValidError as exc:
        raise InvalidSubscriber("address", raw, str(exc)) from None
    return checked.ascii_email.lower()


def _clean_list(field_name: str, values) -> list[str]:
    if isinstance(values, str):
        values = values.split(";")
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in values or ():
        if not isinstance(value, str):
            raise InvalidSubscriber(field_name, value, "not a string")
        item = one_line(value, LIST_ITEM_MAX)
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            cleaned.append(item)
    if len(cleaned) > LIST_MAX:
        raise InvalidSubscriber(field_name, ";".join(cleaned), f"more than {LIST_MAX} entries")
    return cleaned


def normalize_language(language: str | None) -> str:
    code = (language or "").strip().lower() or "ja"
    if code not in LANGUAGES:
        raise InvalidSubscriber("language", language, "expected ja or en")
    return code


def make_subscriber(email, name="", language="ja", organisations=(), categories=(), eligible_only=False, *,
                    company="", frequency="weekly", paused=False) -> Subscriber:
    """A validated subscriber with a fresh token; InvalidSubscriber on bad input."""
    return Subscriber(
        email=normalize_email(email),
        name=clean_name(name if isinstance(name, str) else ""),
        language=normalize_language(language),
        organisations=_clean_list("organisations", organisations),
        categories=_known_categories(_clean_list("categories", categories)),
        eligible_only=_yes_or_no("eligible_only", eligible_only),
        token=new_token(),
        company=one_line(company if isinstance(company, str) else "", COMPANY_MAX),
        frequency=normalize_frequency(frequency),
        paused=_yes_or_no("paused", paused),
    )


def normalize_frequency(frequency: str | None) -> str:
    value = (frequency or "").strip().lower() or "weekly"
    if value not in FREQUENCIES:
        raise InvalidSubscriber("frequency", frequency, f"expected one of {', '.join(FREQUENCIES)}")
    return value


# --- tokens: random, mailed raw, stored only as their SHA-256 ---------------------------------------

def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(raw: str) -> str:
    """What is stored for a token. SHA-256 is enough for 192 random bits (nothing to brute-force)."""
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))


def plausible_token(raw: object) -> bool:
    """A string that could be one of our tokens (URL-safe base64, sane length): anything else is
    refused before it reaches a lookup."""
    return isinstance(raw, str) and 16 <= len(raw) <= 128 and raw.isascii() \
        and raw.replace("-", "").replace("_", "").isalnum()


# --- changes a subscriber makes (the web app journals them; the runs apply them) --------------------

CHANGE_KINDS = ("subscribe", "preferences", "unsubscribe")
PREFERENCE_FIELDS = ("language", "organisations", "categories", "eligible_only", "frequency", "paused")


def preferences_of(sub: Subscriber) -> dict:
    """The fields a subscriber may change, as journaled (JSON-ready)."""
    return {"name": sub.name, "company": sub.company, "language": sub.language,
            "organisations": list(sub.organisations), "categories": list(sub.categories),
            "eligible_only": sub.eligible_only, "frequency": sub.frequency, "paused": sub.paused}


def apply_change(current: Subscriber | None, email: str, kind: str, data: dict) -> Subscriber | None:
    """The subscriber after one journaled change (pure; the web app and the warehouse both use it).
    subscribe: active with the form's preferences (a returning address is re-activated);
    preferences: the fields given; unsubscribe: inactive (the row stays)."""
    if kind == "subscribe":
        fresh = make_subscriber(email, **{k: data[k] for k in ("name", "language", "organisations", "categories",
                                                                "eligible_only") if k in data},
                                company=data.get("company", ""), frequency=data.get("frequency", "weekly"))
        return replace(fresh, token="", id=current.id if current else None, active=True, paused=False)
    if current is None:
        return None  # a change for an address the warehouse does not know: nothing to change
    if kind == "unsubscribe":
        return replace(current, active=False)
    if kind == "preferences":
        merged = {**preferences_of(current), **{k: v for k, v in data.items() if k in PREFERENCE_FIELDS}}
        checked = make_subscriber(email, merged["name"], merged["language"], merged["organisations"],
                                  merged["categories"], merged["eligible_only"], company=merged["company"],
                                  frequency=merged["frequency"], paused=merged["paused"])
        return replace(checked, token="", id=current.id, active=current.active)
    raise ValueError(f"unknown subscriber change {kind!r}")


def _yes_or_no(field_name: str, value) -> bool:
    """A yes/no column as people fill it in a spreadsheet (1/0, true/false, yes/no, はい, ○)."""
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InvalidSubscriber(field_name, value, "expected yes or no (1/0, true/false)")


def _known_categories(categories: list[str]) -> list[str]:
    """A misspelt category would silently filter a subscriber's digest down to nothing."""
    from spacedigest.sources.classify import CATEGORIES

    # "events", "tenders": the plural a person naturally types means the category
    wanted = [c.lower() if c.lower() in CATEGORIES or c.lower()[:-1] not in CATEGORIES else c.lower()[:-1]
              for c in categories]
    unknown = [c for c in wanted if c not in CATEGORIES]
    if unknown:
        raise InvalidSubscriber("categories", unknown[0], f"unknown category; expected one of {', '.join(CATEGORIES)}")
    return wanted


def decode_csv(data: bytes) -> str:
    """CSV bytes to text: UTF-8 (with or without BOM), else Shift_JIS/cp932 as Japanese Excel saves it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        raise InvalidSubscriber("CSV encoding", data[:20], "neither UTF-8 nor Shift_JIS (cp932); save the file as UTF-8") from None


def _split_lines(text: str) -> list[str]:
    """Physical lines; a record never spans lines because no subscriber field may hold a line break.

    Splitting ourselves (instead of letting csv join lines inside quotes) means one stray quote
    breaks one row, not the rest of the file. A file using only CR (old Mac Excel) is understood.
    """
    text = text.replace("\r\n", "\n")
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    return text.split("\n")


def _parse_line(line: str) -> list[str]:
    """One CSV line to fields; csv.Error on bad quoting (an unterminated quote, text after a quote)."""
    if line.count('"') % 2:
        raise csv.Error("unbalanced double quote")
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error as exc:  # reword the csv module's messages, which talk about file modes
        if "new-line" in str(exc):
            raise csv.Error("a line break inside an unquoted value") from None
        if "NUL" in str(exc):
            raise csv.Error("a NUL character") from None
        raise


def parse_csv(text: str) -> tuple[list[Subscriber], list[str]]:
    """Subscribers from CSV text with a header row, and one error line per row that was refused.

    Columns: email,name,language,organisations[,categories][,eligible_only] (header names
    case-insensitive, any order; only email is required). organisations and categories are
    ';'-separated; eligible_only is yes/no (only the calls a Japanese company may apply to). Rows are
    numbered as a spreadsheet shows them: the header is row 1. A broken row never stops the
    others; an address seen in an earlier row (ignoring case) is reported as a duplicate.
    """
    lines = _split_lines(text.lstrip("\ufeff"))
    errors: list[str] = []
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        return [], ["empty file: expected a header row " + ",".join(CSV_COLUMNS[:4])]
    try:
        header = [column.strip().lower() for column in _parse_line(lines[header_index].lstrip("\ufeff"))]
    except csv.Error as exc:
        return [], [f"row {header_index + 1}: malformed header ({exc})"]
    missing = [column for column in CSV_REQUIRED if column not in header]
    if missing:
        return [], [f"row {header_index + 1}: header lacks the column {missing[0]!r} "
                    f"(expected {','.join(CSV_COLUMNS[:4])}[,categories])"]
    unknown = [column for column in header if column not in CSV_COLUMNS]
    if unknown:
        errors.append(f"row {header_index + 1}: unknown column {unknown[0]!r} ignored "
                      f"(known: {','.join(CSV_COLUMNS)})")

    subscribers: list[Subscriber] = []
    first_row_of: dict[str, int] = {}
    for index in range(header_index + 1, len(lines)):
        row_number = index + 1
        line = lines[index]
        if not line.strip():
            continue
        try:
            values = _parse_line(line)
        except csv.Error as exc:
            errors.append(f"row {row_number}: malformed CSV ({exc})")
            continue
        if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
            errors.append(f"row {row_number}: {len(values)} fields but the header has {len(header)}"
                          " (a comma inside a value must be quoted)")
            continue
        row = dict(zip(header, values))
        try:
            subscriber = make_subscriber(
                row.get("email", ""), name=row.get("name", ""), language=row.get("language", ""),
                organisations=row.get("organisations", ""), categories=row.get("categories", ""),
                eligible_only=row.get("eligible_only", ""),
            )
        except InvalidSubscriber as exc:
            errors.append(f"row {row_number}: {exc}")
            continue
        if subscriber.email in first_row_of:
            errors.append(f"row {row_number}: duplicate address {subscriber.email!r} "
                          f"(already in row {first_row_of[subscriber.email]})")
            continue
        first_row_of[subscriber.email] = row_number
        subscribers.append(subscriber)
    return subscribers, errors
