"""Delivery edge: hand built messages to an SMTP server, or write them to an outbox folder.

Contract with the caller (the `send` flow): `deliver_all` reports each message the moment the
server accepted or refused it, so the caller writes a `deliveries` row only for accepted ones
and an interrupted run can be resumed by sending exactly the subscribers without a row.

Failure classes:
- DeliveryError(permanent=True): the server refused this recipient or message with a 5xx. Retrying
  the same message will not help; the others are still sent.
- DeliveryError(permanent=False): a 4xx for this message, or the connection was lost after the
  message had been sent but before the server answered (it may or may not have been accepted;
  a later run sends it again, which is the safe side for a weekly digest).
- ServerUnavailable (a temporary DeliveryError): no connection could be (re)established, login or
  TLS failed, the server refused the sender address, or the outbox cannot be written. deliver_all then stops contacting the server and
  returns every remaining job as failed-temporary ("not sent: ..."), without raising.
"""
from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import unquote, urlsplit

from spacedigest.reports.mail import smtp_data
from spacedigest.reports.subscribers import Subscriber

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass
class SmtpConfig:
    scheme: str  # smtp | smtp+starttls | smtps
    host: str
    port: int
    username: str | None
    password: str | None
    timeout: float = 30

    def __repr__(self) -> str:  # never print the password (logs, tracebacks, Prefect UI)
        secret = "***" if self.password else None
        return (f"SmtpConfig(scheme={self.scheme!r}, host={self.host!r}, port={self.port}, "
                f"username={self.username!r}, password={secret!r}, timeout={self.timeout})")

    def describe(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


class DeliveryError(Exception):
    """One message was not delivered; `permanent` says whether retrying it can help."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class ServerUnavailable(DeliveryError):
    """Nothing more can be sent in this run (server gone, login/TLS failed, outbox unwritable)."""

    def __init__(self, message: str):
        super().__init__(message, permanent=False)


def _redact(url: str) -> str:
    return re.sub(r"//([^/@:]*):[^/@]*@", r"//\1:***@", url)


def parse_smtp_url(url: str) -> SmtpConfig:
    """smtp://[user:pass@]host[:port], smtp+starttls://…, smtps://… (default ports 25/587/465).

    User and password are percent-decoded, so a password holding '@', ':' or '/' is written
    %40, %3A, %2F. Anything else is a ValueError whose message never shows the password.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError("SMTP URL is empty; expected smtp://[user:pass@]host:port, smtp+starttls://… or smtps://…")
    shown = _redact(url.strip())
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url.strip()):
        raise ValueError(f"SMTP URL {shown!r} contains spaces or control characters")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"SMTP URL {shown!r}: scheme must be smtp, smtp+starttls or smtps")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"SMTP URL {shown!r}: unexpected path, query or fragment after host:port")
    if not parts.hostname:
        raise ValueError(f"SMTP URL {shown!r}: no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"SMTP URL {shown!r}: port must be a number from 1 to 65535") from None
    if port == 0:
        raise ValueError(f"SMTP URL {shown!r}: port must be a number from 1 to 65535")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ValueError(f"SMTP URL {shown!r}: a password without a user name")
    return SmtpConfig(scheme=scheme, host=parts.hostname, port=port or DEFAULT_PORTS[scheme],
                      username=username, password=password)


def _envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    senders = msg["Sender"] or msg["From"]
    if senders is None or not getattr(senders, "addresses", None):
        raise ValueError("message has no From address")
    recipients = [a.addr_spec for field in ("To", "Cc") if msg[field] is not None
                  for a in msg[field].addresses]
    if not recipients:
        raise ValueError("message has no recipient")
    return senders.addresses[0].addr_spec, recipients


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


class _LostBeforeData(Exception):
    """The connection went away before the message body was sent: resending cannot duplicate it."""


def _data(conn: smtplib.SMTP, payload: bytes) -> tuple[int, bytes]:
    """smtplib's data() for a payload already made wire-ready (`reports.mail.smtp_data`)."""
    code, reply = conn.docmd("data")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    conn.send(payload)
    return conn.getreply()


class SmtpTransport:
    """One SMTP connection reused for every message; reconnects once when the server dropped it.

    Use as a context manager (QUIT on exit). The connection opens on the first send, so a run
    with nobody to send to never contacts the server. `ssl_context` defaults to the system trust
    store (SSL_CERT_FILE is honoured); tests pass one trusting their own certificate.
    """

    def __init__(self, config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None):
        self.config = config
        self.ssl_context = ssl_context
        self.connections = 0  # how many connections were opened (figures, tests)
        self._conn: smtplib.SMTP | None = None
        self._body_8bit = False  # promised: messages built with 8bit bodies (BODY=8BITMIME)
        self._unreachable: ServerUnavailable | None = None

    def accepts_8bitmime(self) -> bool:
        """Whether the server takes 8bit bodies (RFC 6152); connects to find out. From then on
        every message is declared BODY=8BITMIME, and a reconnect to a server without it fails.
        Never raises: a server that cannot be reached is reported by the first send, as always."""
        if self._conn is None:
            try:
                self._connect()
            except ServerUnavailable as exc:
                self._unreachable = exc  # raised by the next send rather than trying again at once
                return False
        self._body_8bit = self._conn.has_extn("8bitmime")
        return self._body_8bit

    def __enter__(self) -> "SmtpTransport":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connect(self) -> None:
        cfg = self.config
        context = None
        if cfg.scheme != "smtp":
            context = self.ssl_context or ssl.create_default_context()
        where = cfg.describe()
        conn: smtplib.SMTP | None = None
        try:
            if cfg.scheme == "smtps":
                conn = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
            else:
                conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            # SMTP is a chat of small writes; with Nagle's algorithm each one waits for the delayed
            # ACK of the previous (~40 ms), capping a session at ~25 messages/s.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.ehlo()
            if cfg.scheme == "smtp+starttls":
                if not conn.has_extn("starttls"):
                    raise ServerUnavailable(f"SMTP server {where} does not offer STARTTLS")
                conn.starttls(context=context)
                conn.ehlo()
            if cfg.username:
                conn.login(cfg.username, cfg.password or "")
            if self._body_8bit and not conn.has_extn("8bitmime"):
                raise ServerUnavailable(f"SMTP server {where} no longer offers 8BITMIME; "
                                        "the next send will build its messages without it")
        except ServerUnavailable:
            if conn is not None:
                conn.close()
            raise
        except smtplib.SMTPAuthenticationError as exc:
            conn.close()
            raise ServerUnavailable(f"SMTP login to {where} refused: {exc.smtp_code} {_reply_text(exc.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            conn.close()
            raise ServerUnavailable(f"SMTP server {where}: {exc}") from None
        except ssl.SSLError as exc:
            if conn is not None:
                conn.close()
            reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
            raise ServerUnavailable(f"TLS with SMTP server {where} failed: {reason}") from None
        except smtplib.SMTPResponseException as exc:
            if conn is not None:
                conn.close()
            raise ServerUnavailable(f"SMTP server {where} refused the session: {exc.smtp_code} {_reply_text(exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            if conn is not None:
                conn.close()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            raise ServerUnavailable(f"cannot connect to SMTP server {where}: {reason}") from None
        self._conn = conn
        self.connections += 1

    def _reset(self) -> None:
        try:
            self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _transaction(self, sender: str, recipients: list[str], payload: bytes) -> None:
        conn = self._conn
        try:
            code, reply = conn.mail(sender, ["BODY=8BITMIME"] if self._body_8bit else [])
            if code == 421:
                raise _LostBeforeData(f"{code} {_reply_text(reply)}")
            if code != 250:  # a refused sender is a configuration problem: nothing else would go
                self._reset()
                raise ServerUnavailable(f"SMTP server {self.config.describe()} refused the sender {sender}: "
                                        f"{code} {_reply_text(reply)}")
            for recipient in recipients:
                code, reply = conn.rcpt(recipient)
                if code == 421:
                    raise _LostBeforeData(f"{code} {_reply_text(reply)}")
                if code not in (250, 251):
                    self._reset()
                    raise DeliveryError(f"recipient {recipient} refused: {code} {_reply_text(reply)}",
                                        permanent=500 <= code < 600)
        except smtplib.SMTPServerDisconnected as exc:
            raise _LostBeforeData(str(exc)) from None
        except smtplib.SMTPException as exc:  # a garbled reply: start afresh on a new connection
            self._drop()
            raise DeliveryError(f"SMTP error before sending the message: {exc}") from None
        try:
            code, reply = _data(conn, payload)
        except smtplib.SMTPDataError as exc:  # DATA command itself refused
            self._reset()
            raise DeliveryError(f"message refused: {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                                permanent=500 <= exc.smtp_code < 600) from None
        except (smtplib.SMTPServerDisconnected, OSError):
            self._drop()
            raise DeliveryError("connection lost while the message was being sent; the server may or "
                                "may not have accepted it (it will be sent again next time)") from None
        if code != 250:
            if code == 421:
                self._drop()
            else:
                self._reset()
            raise DeliveryError(f"message refused: {code} {_reply_text(reply)}", permanent=500 <= code < 600)

    def send(self, msg: EmailMessage) -> None:
        """Deliver one message or raise DeliveryError; a dropped connection is reopened once."""
        sender, recipients = _envelope(msg)
        # A digest message knows its wire form with the shared body quoted once; others are quoted here.
        smtp_payload = getattr(msg, "smtp_payload", None)
        payload = smtp_payload() if smtp_payload else smtp_data(msg.as_bytes())
        if self._unreachable is not None:
            exc, self._unreachable = self._unreachable, None
            raise exc
        for attempt in (1, 2):
            if self._conn is None:
                self._connect()
            try:
                self._transaction(sender, recipients, payload)
                return
            except _LostBeforeData as exc:
                self._drop()
                if attempt == 2:
                    raise ServerUnavailable(f"SMTP server {self.config.describe()} dropped the connection "
                                            f"again after reconnecting: {exc}") from None


class OutboxTransport:
    """Writes each message as <folder>/<UTC timestamp>-<n>-<recipient>.eml, atomically.

    Used when no SMTP server is configured: the files can be inspected or handed to any mail
    program. A file appears whole or not at all (temporary file + fsync + rename).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.count = 0

    def __enter__(self) -> "OutboxTransport":
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def close(self) -> None:
        pass

    @staticmethod
    def accepts_8bitmime() -> bool:
        return False  # .eml files for any mail program: keep them 7bit-clean

    def send(self, msg: EmailMessage) -> None:
        _, recipients = _envelope(msg)
        self.count += 1
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        safe_recipient = re.sub(r"[^A-Za-z0-9@._+-]", "_", recipients[0])[:100]
        target = self.folder / f"{stamp}-{self.count:05d}-{safe_recipient}.eml"
        temp_path = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".", suffix=".tmp", delete=False) as handle:
                temp_path = handle.name
                handle.write(msg.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_path, target)
            temp_path = None
        except OSError as exc:
            raise ServerUnavailable(f"cannot write to outbox {self.folder}: {exc.strerror or exc}") from None
        finally:
            if temp_path is not None:
                try:
                    os.unlink(temp_path)
                except OSError:
                    pass


def transport_for(smtp_url: str | None, outbox: Path):
    """SMTP when SPACEDIGEST_SMTP_URL is set (non-blank), else the outbox folder."""
    if smtp_url and smtp_url.strip():
        return SmtpTransport(parse_smtp_url(smtp_url))
    return OutboxTransport(Path(outbox))


@dataclass
class DeliveryResult:
    subscriber: Subscriber
    ok: bool
    error: str | None
    permanent: bool
    message_id: str | None


def deliver_all(jobs: Iterable[tuple[Subscriber, EmailMessage]], transport,
                on_result: Callable[[DeliveryResult], None]) -> list[DeliveryResult]:
    """Send each job in turn; one result per job, in order, passed to on_result immediately.

    Never raises for delivery failures: a refused recipient is a failed result and the others
    continue. When the transport raises ServerUnavailable (the server is gone even after one
    reconnect), no further sends are attempted: that job and every remaining one come back
    ok=False, permanent=False with the reason ("not sent: …" for those never tried), so the
    next run delivers exactly the remainder. An exception from on_result (say the warehouse
    cannot record a delivery) stops the run: sending on without recording would send twice.
    The caller owns the transport's lifetime (`with transport: deliver_all(...)`).
    """
    results: list[DeliveryResult] = []
    unavailable: ServerUnavailable | None = None
    for subscriber, msg in jobs:
        message_id = msg.get("Message-ID")
        message_id = str(message_id) if message_id is not None else None
        if unavailable is not None:
            result = DeliveryResult(subscriber, False, f"not sent: {unavailable}", False, message_id)
        else:
            try:
                transport.send(msg)
                result = DeliveryResult(subscriber, True, None, False, message_id)
            except ServerUnavailable as exc:
                unavailable = exc
                result = DeliveryResult(subscriber, False, str(exc), False, message_id)
            except DeliveryError as exc:
                result = DeliveryResult(subscriber, False, str(exc), exc.permanent, message_id)
        on_result(result)
        results.append(result)
    return results

