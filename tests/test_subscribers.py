"""Subscriber validation and CSV import: hostile names and addresses, broken rows, duplicates."""
from __future__ import annotations

import pytest

from spacedigest.reports.subscribers import (
    NAME_MAX, InvalidSubscriber, Subscriber, clean_name, decode_csv, make_subscriber,
    normalize_email, parse_csv,
)
from tests.conftest import FIXTURES

CSV_DIR = FIXTURES / "subscribers"


def read_fixture(name: str) -> str:
    return decode_csv((CSV_DIR / name).read_bytes())


@pytest.mark.parametrize("raw, expected", [
    ("taro@example.jp", "taro@example.jp"),
    ("  Taro.Yamada@Example.JP ", "taro.yamada@example.jp"),
    ("INFO@EXAMPLE.ORG", "info@example.org"),
    ("first+digest@sub.example.co.uk", "first+digest@sub.example.co.uk"),
    ("info@宇宙.example.jp", "info@xn--29sob.example.jp"),  # IDN domain kept ASCII for headers/SMTP
])
def test_normalize_email_accepts_and_lower_cases(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw, reason", [
    ("foo@", "after the @-sign"),
    ("no-at-sign.example.com", "@"),
    ("", "empty"),
    ("a@b@example.com", "one address only"),
    ("a@example.com, b@example.com", "one address only"),
    ("a@example.com;b@example.com", "one address only"),
    ("Taro <taro@example.jp>", "without a display name"),
    ("a@example.com\r\nBcc: victim@example.org", "line breaks"),
    ("a@example.com\n", "line breaks"),
    ("a@example.com\x00", "NUL"),
    ("a b@example.com", "invalid characters"),
    ("ユーザ@example.jp", "Internationalized characters"),
    ("someone@localhost", "should have a period"),
    ("someone@example.test", "special-use or reserved"),
    ("someone@[192.0.2.1]", "bracketed IP"),
])
def test_normalize_email_refuses_with_one_line_reason(raw, reason):
    with pytest.raises(InvalidSubscriber) as info:
        normalize_email(raw)
    message = str(info.value)
    assert message.startswith("invalid address ")
    assert reason.lower() in message.lower()
    assert "\n" not in message and "\r" not in message  # one line even when the value held a CR/LF
    assert info.value.field == "address" and info.value.value == raw


def test_error_message_echo_is_capped():
    with pytest.raises(InvalidSubscriber) as info:
        normalize_email("x" * 5000 + "@")
    assert len(str(info.value)) < 300


def test_make_subscriber_validates_and_fills_defaults():
    s = make_subscriber("Jane.Doe@Example.org", name="  Jane   Doe ", language="EN",
                        organisations="ESA; CNES ;;esa", categories=["funding", " events "])
    assert s == Subscriber(email="jane.doe@example.org", name="Jane Doe", language="en",
                           organisations=["ESA", "CNES"], categories=["funding", "event"], token=s.token)
    assert s.active and s.id is None
    assert make_subscriber("a@example.com").language == "ja"
    assert make_subscriber("a@example.com", language="").language == "ja"


def test_tokens_are_unique_and_url_safe():
    tokens = {make_subscriber("a@example.com").token for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) == 32 and token.replace("-", "").replace("_", "").isalnum()


@pytest.mark.parametrize("language", ["fr", "japanese", "j\r\na"])
def test_unknown_language_is_refused(language):
    with pytest.raises(InvalidSubscriber, match=r"invalid language .*: expected ja or en"):
        make_subscriber("a@example.com", language=language)


@pytest.mark.parametrize("hostile, expected", [
    ("Taro\r\nBcc: victim@example.org", "Taro Bcc: victim@example.org"),
    ("Taro\nX-Injected: yes", "Taro X-Injected: yes"),
    ("Taro\u2028Bcc: x@example.org", "Taro Bcc: x@example.org"),  # Unicode line separator
    ("Taro\x00\x1b[31m", "Taro [31m"),
    ("\u202eorcim\u202c Taro", "orcim Taro"),  # bidi override spoofing
    ("山田\u200b太郎", "山田 太郎"),  # zero-width space
    ("Broken \udc80 surrogate", "Broken surrogate"),  # would abort UTF-8 encoding at send time
])
def test_names_lose_everything_that_could_break_a_header(hostile, expected):
    assert clean_name(hostile) == expected
    subscriber = make_subscriber("a@example.com", name=hostile)
    assert subscriber.name == expected
    assert all(ch.isprintable() for ch in subscriber.name)


def test_long_names_are_capped():
    assert len(make_subscriber("a@example.com", name="宇" * 1000).name) == NAME_MAX


def test_csv_import_with_bom_crlf_quotes_and_idn():
    subscribers, errors = parse_csv(read_fixture("valid.csv"))
    assert errors == []
    assert [(s.email, s.name, s.language, s.organisations) for s in subscribers] == [
        ("taro.yamada@example.jp", "山田 太郎", "ja", ["ESA", "CNES"]),
        ("hanako@example.co.jp", "佐藤, 花子", "ja", []),
        ("jane.doe@example.org", "Jane Doe", "en", ["Harwell"]),
        ("info@xn--29sob.example.jp", "宇宙ベンチャー株式会社", "ja", ["ESA", "UKSA"]),
    ]
    assert len({s.token for s in subscribers}) == 4


def test_csv_broken_rows_are_named_and_the_rest_imports():
    subscribers, errors = parse_csv(read_fixture("broken.csv"))
    assert [s.email for s in subscribers] == [
        "ok1@example.com", "ok2@example.com", "ok6@example.com", "ok8@example.com", "ok9@example.com"]
    by_email = {s.email: s for s in subscribers}
    assert by_email["ok1@example.com"].categories == ["funding"]
    assert by_email["ok6@example.com"].name == 'Name with "quotes"'
    assert by_email["ok8@example.com"].name == "Taro Bcc: x@example.com"  # CR neutralised
    assert by_email["ok9@example.com"].name == "Jiro evil Bcc: y@example.com"
    assert errors == [
        "row 3: invalid address 'foo@': There must be something after the @-sign.",
        "row 5: invalid language 'fr': expected ja or en",
        "row 6: malformed CSV (unbalanced double quote)",
        "row 7: duplicate address 'ok1@example.com' (already in row 2)",
        "row 8: 6 fields but the header has 5 (a comma inside a value must be quoted)",
        "row 9: invalid address 'Evil <evil@example.com>': give the bare address, "
        "without a display name or angle brackets",
        "row 12: malformed CSV (a line break inside an unquoted value)",
    ]
    assert all("\n" not in e and "\r" not in e for e in errors)


def test_duplicates_differing_only_in_case_keep_the_first_row():
    text = "email,name\nTaro@Example.jp,First\ntaro@example.JP,Second\nTARO@EXAMPLE.JP,Third\n"
    subscribers, errors = parse_csv(text)
    assert [(s.email, s.name) for s in subscribers] == [("taro@example.jp", "First")]
    assert errors == ["row 3: duplicate address 'taro@example.jp' (already in row 2)",
                      "row 4: duplicate address 'taro@example.jp' (already in row 2)"]


def test_csv_header_problems():
    assert parse_csv("") == ([], ["empty file: expected a header row email,name,language,organisations"])
    assert parse_csv("\ufeff\n\n") == ([], ["empty file: expected a header row email,name,language,organisations"])
    subscribers, errors = parse_csv("mail,name\na@example.com,A\n")
    assert subscribers == []
    assert errors == ["row 1: header lacks the column 'email' (expected email,name,language,organisations[,categories])"]
    subscribers, errors = parse_csv("Email,Langauge\na@example.com,en\n")
    assert [(s.email, s.language) for s in subscribers] == [("a@example.com", "ja")]
    assert errors == ["row 1: unknown column 'langauge' ignored (known: email,name,language,organisations,categories,eligible_only)"]


def test_csv_columns_in_any_order_and_short_rows():
    subscribers, errors = parse_csv("organisations,language,email\nESA;JAXA,en,b@example.com\n,,c@example.com\nd@example.com\n")
    assert errors == ["row 4: invalid address '': empty"]
    assert [(s.email, s.language, s.organisations) for s in subscribers] == [
        ("b@example.com", "en", ["ESA", "JAXA"]), ("c@example.com", "ja", [])]


def test_csv_with_old_mac_line_endings():
    subscribers, errors = parse_csv("email,name\ra@example.com,A\rb@example.com,B\r")
    assert errors == [] and [s.email for s in subscribers] == ["a@example.com", "b@example.com"]


def test_decode_csv_reads_utf8_and_japanese_excel_exports():
    subscribers, errors = parse_csv(read_fixture("excel-sjis.csv"))
    assert errors == []
    assert [(s.email, s.name, s.organisations) for s in subscribers] == [
        ("ichiro@example.jp", "鈴木 一郎", ["JAXA", "ESA"])]
    assert decode_csv("email\n".encode("utf-8-sig")) == "email\n"
    with pytest.raises(InvalidSubscriber, match="save the file as UTF-8"):
        decode_csv(b"email\n\x81\x00\xff\xfe")


def test_categories_must_be_known_and_plurals_are_understood():
    assert make_subscriber("a@example.org", categories=["Tenders", "event"]).categories == ["tender", "event"]
    with pytest.raises(InvalidSubscriber, match="unknown category"):
        make_subscriber("a@example.org", categories=["fundng"])


def test_eligible_only_from_csv_and_its_filter():
    text = "email,name,eligible_only\na@example.org,A,yes\nb@example.org,B,\nc@example.org,C,はい\nd@example.org,D,maybe\n"
    subscribers, errors = parse_csv(text)
    assert [(s.email, s.eligible_only) for s in subscribers] == [
        ("a@example.org", True), ("b@example.org", False), ("c@example.org", True)]
    assert errors == ["row 5: invalid eligible_only 'maybe': expected yes or no (1/0, true/false)"]
