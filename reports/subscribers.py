"""Subscribers: validation of addresses, names and preferences, and CSV import (pure).

The mailing list is the association's memory and every value in it ends up in a mail header,
so everything is checked here, once, before it reaches the warehouse: addresses go through
email-validator, names lose every character that could break or spoof a header, and a CSV
import spacedigest.reports each bad row by number while importing the others.
"""
from __future__ import annotations

import csv
import secrets

import email_validator

from spacedigest.sources.models import Subscriber
from spacedigest.sources.text import one_line

LANGUAGES = ("ja", "en")
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


def make_subscriber(email, name="", language="ja", organisations=(), categories=(), eligible_only=False) -> Subscriber:
    """A validated subscriber with a fresh unsubscribe token; InvalidSubscriber on bad input."""
    return Subscriber(
        email=normalize_email(email),
        name=clean_name(name if isinstance(name, str) else ""),
        language=normalize_language(language),
        organisations=_clean_list("organisations", organisations),
        categories=_known_categories(_clean_list("categories", categories)),
        eligible_only=_yes_or_no("eligible_only", eligible_only),
        token=secrets.token_urlsafe(24),
    )


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
