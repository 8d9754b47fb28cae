"""The digest message: structure, headers, encodings, and that no CR/LF ever reaches a header."""
from __future__ import annotations

import email
import email.header
import re
from datetime import datetime, timedelta, timezone
from email import policy

import pytest

from spacedigest.reports.mail import build_message, parse_sender, unsubscribe_url
from spacedigest.reports.subscribers import InvalidSubscriber, Subscriber, make_subscriber

JST = timezone(timedelta(hours=9))
NOW = datetime(2024, 11, 18, 8, 0, tzinfo=JST)
SENDER = "宇宙ビジネス週報 <digest@spacedigest.example.org>"
SUBJECT = "宇宙ビジネス週報 2024年11月18日号：ESA・CNES・Harwell の新しい公募と支援プログラム"
TEXT = "今週の新着: 3件\n\nESA\n- ビジネスインキュベーション公募（締切 2024年12月20日）\n  https://www.esa.int/x\n"
HTML = "<html><body><h1>今週の新着</h1><p><a href=\"https://www.esa.int/x\">公募</a></p></body></html>"
BASE_URL = "https://digest.example.org/unsubscribe"
EXPECTED_HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe",
                    "List-Unsubscribe-Post", "MIME-Version", "Content-Type"]


def build(subscriber: Subscriber | None = None, **overrides):
    subscriber = subscriber or make_subscriber("Taro.Yamada@Example.JP", name="山田 太郎")
    arguments = dict(subscriber=subscriber, subject=SUBJECT, text=TEXT, html=HTML, sender=SENDER,
                     unsubscribe_url=unsubscribe_url(BASE_URL, subscriber.token), now=NOW)
    arguments.update(overrides)
    return build_message(**arguments)


def wire(msg) -> bytes:
    return msg.as_bytes()


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def reparse(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def content(part) -> str:
    """Decoded body text; the wire form has CRLF line ends."""
    return part.get_content().replace("\r\n", "\n")


def assert_safe_header_block(raw: bytes) -> None:
    """ASCII only, CRLF line ends only, every line a header or its folded continuation."""
    block = header_block(raw)
    assert block.isascii()
    assert b"\r" not in block.replace(b"\r\n", b"") and b"\n" not in block.replace(b"\r\n", b"")
    for line in block.split(b"\r\n"):
        assert len(line) <= 998
        assert line[:1] in (b" ", b"\t") or re.match(rb"^[A-Za-z0-9-]+:( |$)", line), line


def test_structure_is_multipart_alternative_text_then_html():
    parsed = reparse(wire(build()))
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert content(parts[0]) == TEXT
    assert content(parts[1]).rstrip("\n") == HTML
    assert all("MIME-Version" not in p for p in parts)  # only once, at the top


def test_headers():
    subscriber = make_subscriber("Taro.Yamada@Example.JP", name="山田 太郎")
    msg = build(subscriber)
    raw = wire(msg)
    assert_safe_header_block(raw)
    parsed = reparse(raw)
    assert list(parsed.keys()) == EXPECTED_HEADERS
    assert parsed["From"].addresses[0].display_name == "宇宙ビジネス週報"
    assert parsed["From"].addresses[0].addr_spec == "digest@spacedigest.example.org"
    to = parsed["To"].addresses
    assert [(a.display_name, a.addr_spec) for a in to] == [("山田 太郎", "taro.yamada@example.jp")]
    assert parsed["Subject"] == SUBJECT
    assert b"=?utf-8?" in header_block(raw)  # the Japanese subject travels RFC 2047-encoded
    assert parsed["Date"].datetime == NOW
    assert re.fullmatch(r"<[^<>@\s]+@spacedigest\.example\.org>", parsed["Message-ID"])
    assert parsed["List-Unsubscribe"] == f"<{BASE_URL}?token={subscriber.token}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["MIME-Version"] == "1.0"
    assert msg.policy.linesep == "\r\n"


def test_message_ids_are_unique_and_can_use_another_domain():
    ids = {build()["Message-ID"] for _ in range(300)}
    assert len(ids) == 300
    assert build(message_domain="mail.example.net")["Message-ID"].endswith("@mail.example.net>")


def test_long_unsubscribe_url_stays_one_plain_line():
    """A folded URL would become RFC 2047 encoded words that no mail client understands."""
    subscriber = make_subscriber("a@example.com")
    long_base = "https://digest.example.org/" + "/".join(["a-rather-long-path-segment"] * 8) + "?lang=ja&src=mail"
    raw = wire(build(subscriber, unsubscribe_url=unsubscribe_url(long_base, subscriber.token)))
    line = next(l for l in header_block(raw).split(b"\r\n") if l.startswith(b"List-Unsubscribe:"))
    assert line == f"List-Unsubscribe: <{long_base}&token={subscriber.token}>".encode()
    assert len(line) > 250


def decoded_header(raw: bytes, name: str) -> str:
    """A header decoded by the RFC 2047 rules (whitespace between encoded words dropped).

    The stdlib's newer parser keeps that whitespace inside display names, which is a parser
    quirk, not a property of the message; compat32 + decode_header applies the RFC exactly.
    """
    value = email.message_from_bytes(raw, policy=policy.compat32)[name]
    return str(email.header.make_header(email.header.decode_header(value)))


@pytest.mark.parametrize("name, shown", [
    ("山田 太郎", "山田 太郎"),
    ("Doe, Jane", '"Doe, Jane"'),
    ('Jane "JD" Doe', '"Jane \\"JD\\" Doe"'),
    ("O'Brien (CEO)", '"O\'Brien (CEO)"'),
    ("株式会社スペース・テック, 営業部 (担当: 佐藤)", "株式会社スペース・テック, 営業部 (担当: 佐藤)"),
    ("back\\slash", '"back\\\\slash"'),
    ("🚀 Rocket Team", "🚀 Rocket Team"),
    ("長い名前" * 25, "長い名前" * 25),
    ("<script>", '"<script>"'),
    ("a@b.c", '"a@b.c"'),
])
def test_display_names_survive_encoding(name, shown):
    subscriber = make_subscriber("someone@example.com", name=name)
    raw = wire(build(subscriber))
    assert_safe_header_block(raw)
    assert decoded_header(raw, "To") == f"{shown} <someone@example.com>"
    assert [a.addr_spec for a in reparse(raw)["To"].addresses] == ["someone@example.com"]


INJECTIONS = [
    "Taro\r\nBcc: victim@example.org",
    "Taro\nBcc: victim@example.org",
    "Taro\rBcc: victim@example.org",
    "Taro\r\n\r\n<html>body takeover</html>",
    "Taro\u2028Bcc: victim@example.org",
    "Taro\x85Bcc: victim@example.org",
    "Taro\x00Bcc: victim@example.org",
    # The stdlib decodes encoded words in values it is handed: =0D=0A would become a real CRLF.
    "=?utf-8?q?Taro=0D=0ABcc:_victim@example.org?=",
    "=?utf-8?b?VGFybw0KQmNjOiB2aWN0aW1AZXhhbXBsZS5vcmc=?=",
]


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_crlf_in_name_or_subject_cannot_add_a_header(hostile):
    # Bypass make_subscriber on purpose: the message builder must be safe on its own.
    subscriber = Subscriber(email="taro@example.jp", name=hostile, token="tok")
    raw = wire(build(subscriber, subject="週報 " + hostile))
    assert_safe_header_block(raw)
    parsed = reparse(raw)
    assert list(parsed.keys()) == EXPECTED_HEADERS
    assert "Bcc" not in parsed
    assert [a.addr_spec for a in parsed["To"].addresses] == ["taro@example.jp"]
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]
    assert "\n" not in parsed["To"].addresses[0].display_name


@pytest.mark.parametrize("address", [
    "taro@example.jp\r\nBcc: victim@example.org", "taro@example.jp\n", "Taro <taro@example.jp>",
    "taro@example.jp, victim@example.org", "not-an-address",
])
def test_bad_recipient_address_is_refused(address):
    with pytest.raises(InvalidSubscriber, match="invalid address"):
        build(Subscriber(email=address, token="tok"))


@pytest.mark.parametrize("sender, reason", [
    ("digest@example.org\r\nBcc: victim@example.org", "line break"),
    ("digest@example.org\n", "line break"),
    ("garbage", "one address"),
    ("a@example.org, b@example.org", "one address"),
    ("a@", "not an address"),
    ("", "one address"),
])
def test_bad_sender_is_refused(sender, reason):
    with pytest.raises(ValueError, match=reason):
        build(sender=sender)


def test_sender_forms():
    assert str(parse_sender("digest@example.org")) == "digest@example.org"
    assert parse_sender("Space Digest <digest@example.org>").display_name == "Space Digest"
    assert parse_sender("宇宙 <d@例え.jp>").domain == "xn--r8jz45g.jp"


def test_unsubscribe_url():
    assert unsubscribe_url("https://d.example.org/u", "abc_-1") == "https://d.example.org/u?token=abc_-1"
    assert unsubscribe_url("https://d.example.org", "abc") == "https://d.example.org/?token=abc"
    assert unsubscribe_url("HTTPS://d.example.org/u?lang=ja&token=old#frag", "new") == \
        "https://d.example.org/u?lang=ja&token=new"
    for bad_base in ["javascript:alert(1)", "data:text/html,x", "mailto:u@example.org", "/relative",
                     "https://d.example.org/u\r\nBcc: x@example.org", "https://d.example.org/a b"]:
        with pytest.raises(ValueError, match="unsubscribe base URL"):
            unsubscribe_url(bad_base, "abc")
    for bad_token in ["", "a&b=c", "tok\r\n", "トークン"]:
        with pytest.raises(ValueError, match="token"):
            unsubscribe_url("https://d.example.org/u", bad_token)
    with pytest.raises(ValueError, match="longer than"):
        unsubscribe_url("https://d.example.org/" + "x" * 1000, "abc")


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "https://d.example.org/u?token=a\r\nBcc: x@example.org",
    "https://d.example.org/u?token=a>, <mailto:x@example.org", "https://d.example.org/u?token=a b",
    "https://d.example.org/登録解除?token=a",
])
def test_bad_unsubscribe_url_is_refused_by_the_builder(url):
    with pytest.raises(ValueError, match="unsubscribe URL"):
        build(unsubscribe_url=url)


def test_naive_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        build(now=datetime(2024, 11, 18, 8, 0))


def test_hostile_body_text_does_not_abort_the_send():
    """A lone surrogate or NUL from a broken feed would make UTF-8 encoding fail at send time."""
    raw = wire(build(subject="週報 \udc80", text="本文 \udc80 \x00 end", html="<p>\ud800</p>"))
    parsed = reparse(raw)
    plain, html = parsed.iter_parts()
    assert content(plain).rstrip("\n") == "本文 ?  end"
    assert "\x00" not in content(plain) and "?" in content(html)


def test_english_ascii_message_stays_readable_and_long_lines_are_safe():
    subscriber = make_subscriber("jane@example.org", name="Jane Doe", language="en")
    long_line = "word " * 400  # 2000 characters on one line: must not exceed SMTP's 998
    raw = wire(build(subscriber, subject="Space business digest, week of 18 November 2024",
                     text="New this week\n" + long_line, html="<p>" + long_line + "</p>"))
    assert b"Subject: Space business digest, week of 18 November 2024\r\n" in raw
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    plain, html = reparse(raw).iter_parts()
    assert content(plain) == "New this week\n" + long_line + "\n"
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"  # 7bit cannot carry a 2000-char line
    assert raw.isascii()
    short = reparse(wire(build(subscriber, text="Nothing new this week.\n", html="<p>Nothing new.</p>")))
    assert [p["Content-Transfer-Encoding"] for p in short.iter_parts()] == ["7bit", "7bit"]
