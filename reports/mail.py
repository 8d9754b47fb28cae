"""Build the digest email for one subscriber (pure: no network, no files).

Every header value passes through email.headerregistry, which encodes non-ASCII text (RFC 2047)
and quotes display names, and everything that came from outside is checked for CR/LF first, so
no subscriber name, subject or URL can add a header of its own.
"""
from __future__ import annotations

import functools
import re
import secrets
from datetime import datetime
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy, SMTP
from email.utils import format_datetime, make_msgid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from spacedigest.reports.subscribers import NAME_MAX, normalize_email
from spacedigest.sources.models import Subscriber
from spacedigest.sources.text import one_line

SUBJECT_MAX = 200  # characters
URL_MAX = 900  # an unsubscribe URL must fit on one header line (998 octets)
# Headers that carry URLs: folding them at 78 columns would turn a long URL into RFC 2047
# encoded words, which mail clients (Gmail's unsubscribe button among them) do not recognise.
_UNFOLDED_HEADERS = {"list-unsubscribe", "list-unsubscribe-post"}


# Headers whose folded form repeats from one subscriber's message to the next.
_REPEATED_HEADERS = {"from", "subject", "date", "mime-version", "content-type",
                     "content-transfer-encoding", "list-unsubscribe-post"}
_FOLD_CACHE_MAX = 512


class _DigestPolicy(EmailPolicy):
    """email.policy.SMTP (CRLF, 78-column folding) except that URL headers stay on one line.

    Folding is the costliest step of serialising a message; headers that are the same for
    every subscriber are folded once per run instead of once per message.
    """

    def fold(self, name, value):
        if name.lower() in _UNFOLDED_HEADERS:
            return EmailPolicy.fold(self.clone(max_line_length=998), name, value)
        return super().fold(name, value)

    def fold_binary(self, name, value):
        lower = name.lower()
        if lower in _UNFOLDED_HEADERS:
            return EmailPolicy.fold_binary(_WIDE_POLICY, name, value)
        if lower not in _REPEATED_HEADERS or not hasattr(value, "name"):
            return super().fold_binary(name, value)
        # The generator clones the policy for every part, so the key holds what folding depends on.
        key = (lower, str(value), self.max_line_length, self.linesep, self.utf8, self.cte_type)
        folded = _FOLD_CACHE.get(key)
        if folded is None:
            if len(_FOLD_CACHE) >= _FOLD_CACHE_MAX:
                _FOLD_CACHE.clear()
            folded = _FOLD_CACHE[key] = super().fold_binary(name, value)
        return folded


_FOLD_CACHE: dict[tuple, bytes] = {}


class _CachingHeaderRegistry(HeaderRegistry):
    """The stdlib registry builds a new header class on every lookup (type() per header set);
    caching them makes building thousands of messages several times faster."""

    def __init__(self):
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name):
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


POLICY = _DigestPolicy(header_factory=_CachingHeaderRegistry(),
                       **{name: getattr(SMTP, name) for name in ("linesep", "max_line_length", "utf8")})
_WIDE_POLICY = POLICY.clone(max_line_length=998)


_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_ADDRESS = re.compile(rf"(?=[^@]{{1,64}}@){_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})+")
_URL_CHARS = re.compile(r"[!#-;=?-~]{1,%d}" % URL_MAX)  # printable ASCII minus space, \" < >
_LINE_BREAK = re.compile("[\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def _refuse_line_breaks(what: str, value: str) -> str:
    if _LINE_BREAK.search(value):
        raise ValueError(f"{what} contains a line break or NUL: {value[:80]!r}")
    return value


def _header_text(text: str, max_length: int) -> str:
    """One line of header text. '=?' is broken up because the stdlib decodes RFC 2047 encoded
    words in values it is given, and an encoded '=0D=0A' would otherwise become a real line break."""
    return one_line(_encodable(text), max_length).replace("=?", "= ?")


@functools.lru_cache(maxsize=64)
def _subject_text(subject: str) -> str:
    return _header_text(subject, SUBJECT_MAX)  # the same for every subscriber of a digest


def _assert_single_line_headers(msg: EmailMessage) -> None:
    """Last line of defence: no header value may hold a line break, whatever path it came by."""
    for name, value in msg.items():
        if _LINE_BREAK.search(str(value)):
            raise ValueError(f"header {name} would contain a line break: {str(value)[:80]!r}")


def _encodable(text: str) -> str:
    """Lone surrogates (from a broken feed) cannot be encoded as UTF-8 and would abort the send."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


@functools.lru_cache(maxsize=64)
def parse_sender(sender: str) -> Address:
    """'Name <addr>' or a bare address, as one Address; ValueError with the reason otherwise."""
    _refuse_line_breaks("sender", sender)
    try:
        header = POLICY.header_factory("from", sender)
        addresses, defects = header.addresses, header.defects
    except Exception as exc:  # the stdlib parser raises several types on garbage
        raise ValueError(f"sender is not an address: {sender!r} ({exc.__class__.__name__})") from None
    if len(addresses) != 1 or defects or not addresses[0].username or not addresses[0].domain:
        raise ValueError(f"sender must be one address such as 'Space Digest <digest@example.org>': {sender!r}")
    address = addresses[0]
    domain = address.domain if address.domain.isascii() else address.domain.encode("idna").decode("ascii")
    return Address(display_name=_header_text(address.display_name, NAME_MAX), username=address.username, domain=domain)


def unsubscribe_url(base_url: str, token: str) -> str:
    """base_url with ?token=… added (keeping any query it already has); http(s) only."""
    _refuse_line_breaks("unsubscribe base URL", base_url)
    parts = urlsplit(base_url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"unsubscribe base URL must be an http(s) URL: {base_url!r}")
    if any(ch.isspace() or ch in "<>\"" for ch in base_url.strip()):
        raise ValueError(f"unsubscribe base URL contains spaces, quotes or angle brackets: {base_url!r}")
    if not token or not token.replace("-", "").replace("_", "").isalnum() or not token.isascii():
        raise ValueError(f"unsubscribe token must be a non-empty URL-safe string: {token!r}")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    query.append(("token", token))
    url = urlunsplit((parts.scheme.lower(), parts.netloc, parts.path or "/", urlencode(query), ""))
    if len(url) > URL_MAX:
        raise ValueError(f"unsubscribe URL longer than {URL_MAX} characters")
    return url


LINE_MAX = 998  # octets per line on the wire (RFC 5322 2.1.1)


@functools.lru_cache(maxsize=128)  # the same shared body is asked about for every subscriber
def _transfer_encoding(text: str, eight_bit: bool = False) -> str:
    """7bit where possible; 8bit for UTF-8 text when the server takes it (8BITMIME: a third
    smaller than base64 and readable as is); otherwise base64, which every server relays."""
    lines = text.splitlines() or [""]
    if text.isascii():
        return "7bit" if max(map(len, lines)) <= LINE_MAX else "quoted-printable"
    if eight_bit and "\x00" not in text and max(len(line.encode("utf-8")) for line in lines) <= LINE_MAX:
        return "8bit"
    return "base64"


# '=_' never occurs in base64 or quoted-printable text and the random part cannot be guessed by
# a feed author, so one boundary serves every message of the process: the generator skips its
# per-message collision scan and the Content-Type header is folded once.
_BOUNDARY = f"=_{secrets.token_hex(16)}"


@functools.lru_cache(maxsize=256)
def _shared_header(name: str, value):
    """A header object for a value every subscriber's message repeats (sender, subject, date).
    Header objects are immutable, so one can sit in thousands of messages."""
    return POLICY.header_factory(name, value)


@functools.lru_cache(maxsize=64)
def _body_parts(text: str, html: str, eight_bit: bool) -> tuple[MIMEPart, MIMEPart]:
    """The text and HTML parts, built once per distinct body and shared (read-only) by every
    message carrying it: all subscribers of one language usually get the same digest. Callers
    must not modify the parts of a built message."""
    plain, rich = MIMEPart(policy=POLICY), MIMEPart(policy=POLICY)
    plain.set_content(text, subtype="plain", charset="utf-8", cte=_transfer_encoding(text, eight_bit))
    rich.set_content(html, subtype="html", charset="utf-8", cte=_transfer_encoding(html, eight_bit))
    return plain, rich


class DigestMessage(EmailMessage):
    """An EmailMessage whose body, shared by every subscriber of one digest, is serialised once.

    The email package re-generates a body line by line on every as_bytes() (~1 ms for a digest);
    the headers differ per subscriber but the body does not, so it is cached with its parts. The
    subscriber's own links differ only by their token: a body in 7bit or 8bit holds a slot of the
    token's length, filled in the wire bytes (`personal`; the parts keep the slot)."""

    personal: tuple[bytes, bytes] | None = None  # (slot, token)

    def as_bytes(self, unixfrom: bool = False, policy=None) -> bytes:
        if unixfrom or (policy is not None and policy is not self.policy) or not self.is_multipart():
            return self._personalised(super().as_bytes(unixfrom, policy))
        return self._header_block() + self._personalised(_serialized_body(tuple(self.iter_parts())))

    def _personalised(self, data: bytes) -> bytes:
        return data.replace(*self.personal) if self.personal else data

    __bytes__ = as_bytes

    def smtp_payload(self) -> bytes:
        """`smtp_data(self.as_bytes())`, with the shared body dot-stuffed once per body too: only
        the headers are done per message."""
        if not self.is_multipart():
            return smtp_data(self.as_bytes())
        # The header block ends with an empty line, so the body starts a line: stuffing the two
        # apart is stuffing the whole.
        return dot_stuffed(self._header_block()) + self._personalised(_body_data(tuple(self.iter_parts())))

    def _header_block(self) -> bytes:
        return b"".join(self.policy.fold_binary(name, value) for name, value in self.items()) \
            + self.policy.linesep.encode("ascii")


@functools.lru_cache(maxsize=64)
def _serialized_body(parts: tuple[MIMEPart, ...]) -> bytes:
    """The multipart body (boundaries and parts) as the email package writes it."""
    skeleton = EmailMessage(policy=POLICY)
    skeleton["Content-Type"] = _shared_header("Content-Type", f'multipart/alternative; boundary="{_BOUNDARY}"')
    for part in parts:
        skeleton.attach(part)
    whole = EmailMessage.as_bytes(skeleton)
    return whole.split(POLICY.linesep.encode("ascii") * 2, 1)[1]


@functools.lru_cache(maxsize=64)
def _body_data(parts: tuple[MIMEPart, ...]) -> bytes:
    return smtp_data(_serialized_body(parts))


_LINE_END = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def dot_stuffed(data: bytes) -> bytes:
    """CRLF line ends and every leading dot doubled, as SMTP DATA carries text (RFC 5321 4.5.2)."""
    return _LEADING_DOT.sub(b"..", _LINE_END.sub(b"\r\n", data))


def smtp_data(message: bytes) -> bytes:
    """What follows the DATA command on the wire, final "." line included: what smtplib's data()
    sends for a CRLF message (stray CR or LF are made CRLF, as RFC 5321 requires)."""
    payload = dot_stuffed(message)
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    return payload + b".\r\n"


def build_message(*, subscriber: Subscriber, subject: str, text: str, html: str, sender: str,
                  unsubscribe_url: str, now: datetime, message_domain: str | None = None,
                  eight_bit: bool = False, personal: tuple[str, str] | None = None) -> EmailMessage:
    """One multipart/alternative UTF-8 message (plain text, then HTML) for one subscriber.
    `eight_bit`: the server announced 8BITMIME (the transport then declares BODY=8BITMIME).
    `personal` (slot, token): the texts, shared by a group, hold `slot` where this subscriber's
    token goes (URL-safe characters only)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    from_address = parse_sender(sender)
    # Stored addresses were normalised on the way in; a cheap check spares email-validator per
    # message, and anything unusual goes through it again (and is refused if invalid).
    recipient = subscriber.email if _PLAIN_ADDRESS.fullmatch(subscriber.email) else normalize_email(subscriber.email)
    _refuse_line_breaks("unsubscribe URL", unsubscribe_url)
    if (urlsplit(unsubscribe_url).scheme.lower() not in ("http", "https")
            or not _URL_CHARS.fullmatch(unsubscribe_url)):
        raise ValueError(f"unsubscribe URL must be an ASCII http(s) URL without spaces or <>: {unsubscribe_url!r}")
    domain = (message_domain or from_address.domain).strip()
    _refuse_line_breaks("message domain", domain)
    domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain

    msg = DigestMessage(policy=POLICY)
    msg["From"] = _shared_header("From", str(from_address))
    msg["To"] = Address(display_name=_header_text(subscriber.name, NAME_MAX), addr_spec=recipient)
    msg["Subject"] = _shared_header("Subject", _subject_text(subject))
    msg["Date"] = _shared_header("Date", format_datetime(now))  # a string: equal instants in other zones must not share
    # Both values are ASCII tokens built and checked here (no spaces, no line breaks, no '=?'):
    # stored raw, they skip the header parser, which costs more than the rest of the message.
    msg.set_raw("Message-ID", make_msgid(domain=domain))
    msg.set_raw("List-Unsubscribe", f"<{unsubscribe_url}>")
    msg["List-Unsubscribe-Post"] = _shared_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    msg["MIME-Version"] = _shared_header("MIME-Version", "1.0")
    msg["Content-Type"] = _shared_header("Content-Type", f'multipart/alternative; boundary="{_BOUNDARY}"')
    text, html = _encodable(text), _encodable(html)
    if personal:
        slot, token = personal
        if len(slot) == len(token) and all(_transfer_encoding(t, eight_bit) in ("7bit", "8bit") for t in (text, html)):
            msg.personal = (slot.encode("ascii"), token.encode("ascii"))  # shared body, token in the bytes
        else:  # base64 or quoted-printable hide the slot: this message gets a body of its own
            text, html = text.replace(slot, token), html.replace(slot, token)
    for part in _body_parts(text, html, eight_bit):
        msg.attach(part)
    _assert_single_line_headers(msg)
    return msg


def build_notice(*, to: str, subject: str, text: str, sender: str, now: datetime) -> EmailMessage:
    """A plain-text message to one address (a confirmation mail, the staff report); both addresses
    validated, the subject kept to one line: nothing that came from outside can add a header."""
    from_address = parse_sender(sender)
    msg = EmailMessage(policy=POLICY)
    msg["From"] = str(from_address)
    msg["To"] = normalize_email(to)
    msg["Subject"] = _header_text(subject, SUBJECT_MAX)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=from_address.domain or None)
    msg.set_content(_encodable(text), charset="utf-8", cte=_transfer_encoding(_encodable(text)))
    _assert_single_line_headers(msg)
    return msg
