"""Delivery against a real SMTP server (aiosmtpd on 127.0.0.1): TLS, auth, refusals, dropped
connections, connection reuse and throughput; the outbox folder; SMTP URL parsing."""
from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from spacedigest.reports.deliver import (
    DeliveryError, DeliveryResult, OutboxTransport, ServerUnavailable, SmtpConfig, SmtpTransport,
    deliver_all, parse_smtp_url, transport_for,
)
from spacedigest.reports.mail import build_message, unsubscribe_url
from spacedigest.reports.subscribers import make_subscriber

SENDER = "宇宙ビジネス週報 <digest@spacedigest.example.org>"
NOW = dt.datetime(2024, 11, 18, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
USER, PASSWORD = "us@er", "p:ss/w@rd"  # both need percent-encoding in a URL


# --- a real SMTP server ---------------------------------------------------------------------

class RecordingHandler:
    """aiosmtpd handler that stores every accepted message and can misbehave on request.

    reject / temp_reject: recipients answered 550 / 451 at RCPT.
    drop_after: after accepting that many messages (in total), answer 250 and close the connection.
    gone_after_drop: also stop listening then, so reconnecting fails (the server is gone).
    hang_up_on_data: for that message number, close the connection after receiving the body
                     without answering (the client cannot know whether it was accepted).
    per_connection_limit: answer MAIL with 421 once a connection carried that many messages,
                          as many providers do.
    refuse_sender: answer every MAIL with 553 (sender not allowed).
    """

    def __init__(self, *, reject=(), temp_reject=(), drop_after=None, gone_after_drop=False,
                 hang_up_on_data=None, per_connection_limit=None, refuse_sender=False):
        self.messages: list[tuple[str, list[str], bytes, bool]] = []
        self.reject = {a.lower() for a in reject}
        self.temp_reject = {a.lower() for a in temp_reject}
        self.drop_after = drop_after
        self.gone_after_drop = gone_after_drop
        self.hang_up_on_data = hang_up_on_data
        self.per_connection_limit = per_connection_limit
        self.refuse_sender = refuse_sender
        self._per_session: dict[int, int] = {}
        self.stop_listening = None  # set by LocalSmtpServer
        self._sessions: list = []  # strong references: identity counts connections that sent mail

    @property
    def connections(self) -> int:
        return len(self._sessions)

    @property
    def recipients(self) -> list[str]:
        return [rcpt for _, rcpts, _, _ in self.messages for rcpt in rcpts]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refuse_sender:
            return "553 5.7.1 <%s>: Sender address rejected: not owned by user" % address
        if not any(s is session for s in self._sessions):
            self._sessions.append(session)
        sent_here = self._per_session.get(id(session), 0)
        if self.per_connection_limit is not None and sent_here >= self.per_connection_limit:
            return "421 4.7.0 Too many messages for this connection, try again"
        self._per_session[id(session)] = sent_here + 1
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if address.lower() in self.temp_reject:
            return "451 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content, tls))
        loop = asyncio.get_running_loop()
        if self.hang_up_on_data == len(self.messages):
            server.transport.close()  # before any reply: the client sees the connection vanish
            return "250 OK"
        if self.drop_after is not None and len(self.messages) == self.drop_after:
            loop.call_soon(server.transport.close)  # after the 250 below has been written
            if self.gone_after_drop:
                loop.call_soon(self.stop_listening)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalSmtpServer:
    """aiosmtpd Controller on a free 127.0.0.1 port; keyword arguments go to aiosmtpd's SMTP."""

    def __init__(self, handler: RecordingHandler | None = None, **smtp_kwargs):
        self.handler = handler or RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **smtp_kwargs)
        self.handler.stop_listening = lambda: self.controller.server.close()

    def __enter__(self) -> "LocalSmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.controller.stop()

    def url(self, scheme: str = "smtp", credentials: str = "") -> str:
        return f"{scheme}://{credentials}127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1 / localhost."""
    folder = tmp_path_factory.mktemp("tls")
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        if not shutil.which("openssl"):
            pytest.skip("neither the cryptography package nor the openssl command is available to make a test certificate")
        cert, key = folder / "server.pem", folder / "server.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-subj", "/CN=localhost", "-days", "2",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        return cert, cert, key

    now = dt.datetime.now(dt.timezone.utc)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "spacedigest test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return ca_path, cert_path, key_path


@pytest.fixture(scope="module")
def server_tls(tls_files) -> ssl.SSLContext:
    _, cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture(scope="module")
def client_tls(tls_files) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_files[0]))


# --- helpers ---------------------------------------------------------------------------------

DIGEST = {  # one rendered digest per language, as the send flow hands them over
    "ja": ("宇宙ビジネス週報 2024年11月18日号", "今週の新着: 3件\n" * 40, "<p>今週の新着: 3件</p>\n" * 40),
    "en": ("Space business digest, 18 November 2024", "New this week: 3\n" * 40, "<p>New this week: 3</p>\n" * 40),
}


def make_jobs(count: int, *, prefix: str = "member", domain: str = "example.jp"):
    jobs = []
    for n in range(1, count + 1):
        subscriber = make_subscriber(f"{prefix}{n}@{domain}", name=f"会員 {n}", language="ja" if n % 2 else "en")
        subject, text, html = DIGEST[subscriber.language]
        msg = build_message(subscriber=subscriber, subject=subject, text=text, html=html, sender=SENDER,
                            unsubscribe_url=unsubscribe_url("https://digest.example.org/u", subscriber.token),
                            now=NOW)
        jobs.append((subscriber, msg))
    return jobs


def transport_to(server: LocalSmtpServer, scheme: str = "smtp", credentials: str = "", context=None, timeout=5):
    config = parse_smtp_url(server.url(scheme, credentials))
    config.timeout = timeout
    return SmtpTransport(config, ssl_context=context)


def run(jobs, transport) -> tuple[list[DeliveryResult], list[DeliveryResult]]:
    """deliver_all with the transport open; returns (results, what on_result saw, in order)."""
    seen: list[DeliveryResult] = []
    with transport:
        results = deliver_all(jobs, transport, seen.append)
    return results, seen


# --- SMTP URL --------------------------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.example.org:2525", SmtpConfig("smtp", "mail.example.org", 2525, None, None)),
    ("smtp://mail.example.org", SmtpConfig("smtp", "mail.example.org", 25, None, None)),
    ("SMTP+STARTTLS://digest:s3cret@Mail.Example.org", SmtpConfig("smtp+starttls", "mail.example.org", 587, "digest", "s3cret")),
    ("smtps://us%40er:p%3Ass%2Fw%40rd@smtp.example.org:465", SmtpConfig("smtps", "smtp.example.org", 465, "us@er", "p:ss/w@rd")),
    ("smtps://user@smtp.example.org", SmtpConfig("smtps", "smtp.example.org", 465, "user", None)),
    ("smtp://user:@[::1]:2525/", SmtpConfig("smtp", "::1", 2525, "user", "")),
])
def test_parse_smtp_url(url, expected):
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize("url, reason", [
    ("", "empty"),
    ("   ", "empty"),
    ("http://mail.example.org", r"scheme must be smtp, smtp\+starttls or smtps"),
    ("smtp+ssl://mail.example.org", "scheme must be"),
    ("mail.example.org:25", "scheme must be"),
    ("smtp://", "no host"),
    ("smtp://user:pw@:25", "no host"),
    ("smtp://mail.example.org:99999", "port must be"),
    ("smtp://mail.example.org:0", "port must be"),
    ("smtp://mail.example.org:smtp", "port must be"),
    ("smtp://mail.example.org:25/inbox", "unexpected path"),
    ("smtp://mail.example.org:25?tls=1", "unexpected path"),
    ("smtp://:secret@mail.example.org", "password without a user"),
    ("smtp://mail.example.org:25\r\nX: y", "control characters"),
    ("smtp://user:top secret@mail.example.org", "spaces"),
])
def test_parse_smtp_url_refuses_with_a_clear_message(url, reason):
    with pytest.raises(ValueError, match=reason) as info:
        parse_smtp_url(url)
    assert "\n" not in str(info.value)


def test_password_never_shown():
    with pytest.raises(ValueError) as info:
        parse_smtp_url("http://digest:hunter2@mail.example.org")
    assert "hunter2" not in str(info.value) and "digest:***@" in str(info.value)
    config = parse_smtp_url("smtps://digest:hunter2@mail.example.org")
    assert "hunter2" not in repr(config) and "hunter2" not in config.describe()


def test_transport_for_chooses_smtp_or_outbox(tmp_path):
    assert isinstance(transport_for(None, tmp_path), OutboxTransport)
    assert isinstance(transport_for("  ", tmp_path), OutboxTransport)
    transport = transport_for("smtp+starttls://a:b@mail.example.org:587", tmp_path)
    assert isinstance(transport, SmtpTransport) and transport.config.scheme == "smtp+starttls"
    with pytest.raises(ValueError, match="scheme"):
        transport_for("ftp://mail.example.org", tmp_path)


# --- real server -----------------------------------------------------------------------------

def test_plain_smtp_delivers_each_message_as_built():
    jobs = make_jobs(3)
    with LocalSmtpServer() as server:
        results, seen = run(jobs, transport_to(server))
    assert [r.ok for r in results] == [True, True, True]
    assert seen == results
    assert [r.message_id for r in results] == [msg["Message-ID"] for _, msg in jobs]
    handler = server.handler
    assert handler.recipients == ["member1@example.jp", "member2@example.jp", "member3@example.jp"]
    assert {mail_from for mail_from, _, _, _ in handler.messages} == {"digest@spacedigest.example.org"}
    received = email.message_from_bytes(handler.messages[0][2], policy=policy.default)
    assert received["Message-ID"] == jobs[0][1]["Message-ID"]
    assert received["Subject"] == "宇宙ビジネス週報 2024年11月18日号"
    assert received["To"].addresses[0].display_name == "会員 1"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert handler.messages[0][2].replace(b"\r\n", b"\n") == jobs[0][1].as_bytes().replace(b"\r\n", b"\n")
    assert handler.connections == 1


def test_no_jobs_no_connection():
    with LocalSmtpServer() as server:
        transport = transport_to(server)
        results, _ = run([], transport)
    assert results == [] and transport.connections == 0


def test_starttls(server_tls, client_tls):
    with LocalSmtpServer(tls_context=server_tls, require_starttls=True) as server:
        results, _ = run(make_jobs(2), transport_to(server, "smtp+starttls", context=client_tls))
    assert all(r.ok for r in results)
    assert [tls for _, _, _, tls in server.handler.messages] == [True, True]
    assert server.handler.connections == 1


def test_starttls_refuses_an_untrusted_certificate(server_tls):
    """The default context (system trust store) does not know the test CA: no silent downgrade."""
    with LocalSmtpServer(tls_context=server_tls, require_starttls=True) as server:
        results, _ = run(make_jobs(2), transport_to(server, "smtp+starttls"))
    assert [r.ok for r in results] == [False, False]
    assert "TLS with SMTP server smtp+starttls://127.0.0.1" in results[0].error
    assert "certificate" in results[0].error.lower()
    assert results[1].error.startswith("not sent: ")
    assert server.handler.messages == []


def test_starttls_required_but_not_offered(client_tls):
    with LocalSmtpServer() as server:
        results, _ = run(make_jobs(1), transport_to(server, "smtp+starttls", context=client_tls))
    assert not results[0].ok and "does not offer STARTTLS" in results[0].error
    assert server.handler.messages == []


def test_smtps(server_tls, client_tls):
    with LocalSmtpServer(ssl_context=server_tls) as server:
        results, _ = run(make_jobs(3), transport_to(server, "smtps", context=client_tls))
    assert all(r.ok for r in results)
    assert [tls for _, _, _, tls in server.handler.messages] == [True, True, True]
    assert server.handler.connections == 1


# aiosmtpd warns when AUTH is offered without TLS; these tests do that on purpose (the brief).
plain_auth = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@plain_auth
def test_auth_with_percent_encoded_credentials():
    with LocalSmtpServer(authenticator=authenticator, auth_require_tls=False, auth_required=True) as server:
        results, _ = run(make_jobs(2), transport_to(server, credentials="us%40er:p%3Ass%2Fw%40rd@"))
    assert all(r.ok for r in results)
    assert len(server.handler.messages) == 2


@plain_auth
def test_auth_refused_stops_the_run_with_a_clear_reason():
    with LocalSmtpServer(authenticator=authenticator, auth_require_tls=False, auth_required=True) as server:
        results, _ = run(make_jobs(3), transport_to(server, credentials="us%40er:wrong-password@"))
    assert [(r.ok, r.permanent) for r in results] == [(False, False)] * 3
    assert results[0].error.startswith("SMTP login to smtp://us@er@127.0.0.1:")
    assert "535" in results[0].error and "wrong-password" not in results[0].error
    assert all(r.error.startswith("not sent: SMTP login") for r in results[1:])
    assert server.handler.messages == []


@plain_auth
def test_auth_required_but_no_credentials_given():
    with LocalSmtpServer(authenticator=authenticator, auth_require_tls=False, auth_required=True) as server:
        results, _ = run(make_jobs(1), transport_to(server))
    assert not results[0].ok and not results[0].permanent
    assert "530" in results[0].error
    assert server.handler.messages == []


def test_rejected_recipient_is_reported_permanent_and_the_others_are_delivered():
    jobs = make_jobs(5)
    with LocalSmtpServer(RecordingHandler(reject={"member3@example.jp"})) as server:
        results, seen = run(jobs, transport_to(server))
    assert [r.ok for r in results] == [True, True, False, True, True]
    rejected = results[2]
    assert rejected.permanent and rejected.subscriber.email == "member3@example.jp"
    assert rejected.error.startswith("recipient member3@example.jp refused: 550 5.1.1")
    assert server.handler.recipients == ["member1@example.jp", "member2@example.jp",
                                         "member4@example.jp", "member5@example.jp"]
    assert [r.subscriber.email for r in seen] == [s.email for s, _ in jobs]
    assert server.handler.connections == 1  # the refusal did not cost the connection


def test_temporary_refusal_is_not_permanent():
    with LocalSmtpServer(RecordingHandler(temp_reject={"member2@example.jp"})) as server:
        results, _ = run(make_jobs(3), transport_to(server))
    assert [(r.ok, r.permanent) for r in results] == [(True, False), (False, False), (True, False)]
    assert "451 4.7.1" in results[1].error


def test_dropped_connection_is_reopened_once_and_nothing_is_sent_twice():
    jobs = make_jobs(10)
    with LocalSmtpServer(RecordingHandler(drop_after=4)) as server:
        transport = transport_to(server)
        results, _ = run(jobs, transport)
    assert all(r.ok for r in results)
    assert server.handler.recipients == [s.email for s, _ in jobs]  # each exactly once, in order
    assert server.handler.connections == 2 and transport.connections == 2


def test_server_gone_after_some_messages_then_next_send_delivers_exactly_the_remainder():
    jobs = make_jobs(10)
    deliveries: dict[str, str] = {}  # what the caller records: a row only after the server accepted

    def record(result: DeliveryResult) -> None:
        if result.ok:
            deliveries[result.subscriber.email] = result.message_id

    with LocalSmtpServer(RecordingHandler(drop_after=4, gone_after_drop=True)) as first_server:
        transport = transport_to(first_server)
        with transport:
            first = deliver_all(jobs, transport, record)
    accepted = first_server.handler.recipients
    assert accepted == [f"member{n}@example.jp" for n in range(1, 5)]
    assert [r.ok for r in first] == [True] * 4 + [False] * 6
    assert set(deliveries) == set(accepted)  # rows exactly for what the server accepted
    assert not any(r.permanent for r in first)
    assert first[4].error.startswith("cannot connect to SMTP server smtp://127.0.0.1:")
    assert all(r.error.startswith("not sent: cannot connect") for r in first[5:])
    assert transport.connections == 1  # one reconnect attempt, then no hammering of a dead server

    remaining = [(s, m) for s, m in jobs if s.email not in deliveries]
    with LocalSmtpServer() as second_server:
        with transport_to(second_server) as again:
            second = deliver_all(remaining, again, record)
    assert all(r.ok for r in second)
    everything = accepted + second_server.handler.recipients
    assert sorted(everything) == sorted(s.email for s, _ in jobs)  # every subscriber exactly once
    assert set(deliveries) == {s.email for s, _ in jobs}


def test_per_connection_limit_is_met_by_reconnecting():
    jobs = make_jobs(10)
    with LocalSmtpServer(RecordingHandler(per_connection_limit=3)) as server:
        results, _ = run(jobs, transport_to(server))
    assert all(r.ok for r in results)
    assert server.handler.recipients == [s.email for s, _ in jobs]
    assert server.handler.connections == 4


def test_refused_sender_stops_the_run():
    with LocalSmtpServer(RecordingHandler(refuse_sender=True)) as server:
        results, _ = run(make_jobs(3), transport_to(server))
    assert [(r.ok, r.permanent) for r in results] == [(False, False)] * 3
    assert "refused the sender digest@spacedigest.example.org: 553 5.7.1" in results[0].error
    assert all(r.error.startswith("not sent: ") for r in results[1:])
    assert server.handler.messages == []


def test_connection_lost_before_the_reply_is_reported_uncertain_and_the_run_continues():
    jobs = make_jobs(4)
    with LocalSmtpServer(RecordingHandler(hang_up_on_data=2)) as server:
        results, _ = run(jobs, transport_to(server))
    assert [(r.ok, r.permanent) for r in results] == [(True, False), (False, False), (True, False), (True, False)]
    assert "may or may not have accepted it" in results[1].error
    assert server.handler.connections == 2


def test_nothing_listening():
    transport = SmtpTransport(SmtpConfig("smtp", "127.0.0.1", free_port(), None, None, timeout=2))
    results, _ = run(make_jobs(3), transport)
    assert [r.ok for r in results] == [False] * 3
    assert "cannot connect to SMTP server smtp://127.0.0.1:" in results[0].error
    assert "refused" in results[0].error.lower()


def test_nothing_listening_when_asked_for_8bitmime_is_reported_by_the_first_send_as_before():
    transport = SmtpTransport(SmtpConfig("smtp", "127.0.0.1", free_port(), None, None, timeout=2))
    assert transport.accepts_8bitmime() is False  # no exception: sending reports it
    results, _ = run(make_jobs(3), transport)
    assert [r.ok for r in results] == [False] * 3
    assert "cannot connect to SMTP server smtp://127.0.0.1:" in results[0].error
    assert all(r.error.startswith("not sent: cannot connect") for r in results[1:])


def test_an_unrecordable_delivery_stops_the_run():
    """If the caller cannot write the deliveries row, sending on would send twice next time."""
    def fail_on_second(result: DeliveryResult) -> None:
        if result.subscriber.email == "member2@example.jp":
            raise OSError("disk full")

    with LocalSmtpServer() as server:
        with transport_to(server) as transport, pytest.raises(OSError, match="disk full"):
            deliver_all(make_jobs(5), transport, fail_on_second)
    assert server.handler.recipients == ["member1@example.jp", "member2@example.jp"]


def test_one_connection_for_many_messages_and_throughput(record_property):
    """2,000 messages to a local server: a figure, not a timed assertion (issue 6 aims at >= 500/s).
    The server runs in this process, so it competes with the client for the GIL: the figure
    is a lower bound for a real server."""
    count = 2000
    started = time.perf_counter()
    jobs = make_jobs(count)
    build_seconds = time.perf_counter() - started
    with LocalSmtpServer() as server:
        transport = transport_to(server)
        started = time.perf_counter()
        results, _ = run(jobs, transport)
        send_seconds = time.perf_counter() - started
    assert all(r.ok for r in results)
    assert len(server.handler.messages) == count
    assert len({r.message_id for r in results}) == count
    assert sorted(server.handler.recipients) == sorted(s.email for s, _ in jobs)
    assert server.handler.connections == 1 and transport.connections == 1
    rate = count / send_seconds
    overall = count / (build_seconds + send_seconds)
    record_property("smtp_messages_per_second", round(rate))
    record_property("build_and_send_messages_per_second", round(overall))
    print(f"\n{count} messages: built in {build_seconds:.2f} s ({count / build_seconds:.0f}/s), "
          f"sent over one connection in {send_seconds:.2f} s ({rate:.0f}/s); "
          f"build + send {overall:.0f} messages/s")


# --- outbox ----------------------------------------------------------------------------------

def test_outbox_writes_one_complete_eml_per_message(tmp_path):
    outbox = tmp_path / "outbox"
    jobs = make_jobs(3)
    results, _ = run(jobs, transport_for(None, outbox))
    assert all(r.ok for r in results)
    files = sorted(outbox.iterdir())
    assert [f.name.split("-", 1)[1] for f in files] == [
        "00001-member1@example.jp.eml", "00002-member2@example.jp.eml", "00003-member3@example.jp.eml"]
    for path, (_, msg) in zip(files, jobs):
        assert path.read_bytes() == msg.as_bytes()
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert parsed["Message-ID"] == msg["Message-ID"]
    assert not list(outbox.glob(".*"))  # no temporary files left behind


def test_outbox_file_name_cannot_escape_the_folder(tmp_path):
    msg = make_jobs(1)[0][1]
    del msg["To"]
    msg["To"] = "\"x/../../y\" <../../etc@example.jp>"
    OutboxTransport(tmp_path).send(msg)
    (written,) = tmp_path.iterdir()
    assert written.parent == tmp_path
    assert written.name.endswith("-00001-.._.._etc@example.jp.eml") and "/" not in written.name


def test_unwritable_outbox_fails_every_job_with_the_reason(tmp_path):
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be")
    results, _ = run(make_jobs(3), OutboxTransport(blocker))
    assert [(r.ok, r.permanent) for r in results] == [(False, False)] * 3
    assert results[0].error.startswith(f"cannot write to outbox {blocker}: ")
    assert results[1].error.startswith("not sent: cannot write to outbox")


def test_delivery_error_classes():
    assert DeliveryError("x", permanent=True).permanent
    assert not DeliveryError("x").permanent
    assert isinstance(ServerUnavailable("gone"), DeliveryError) and not ServerUnavailable("gone").permanent


# --- 8BITMIME and the wire form ----------------------------------------------------------------

class _MailOptionsHandler(RecordingHandler):
    """Records the MAIL options; optionally hides 8BITMIME from the EHLO answer (an old relay)."""

    def __init__(self, *, offer_8bitmime: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.offer_8bitmime = offer_8bitmime
        self.mail_options: list[list[str]] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [r for r in responses if self.offer_8bitmime or "8BITMIME" not in r]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mail_options.append(list(mail_options))
        return await super().handle_MAIL(server, session, envelope, address, mail_options)


def _digest_jobs(eight_bit: bool, count: int = 2):
    text = "本文です。\n.a line that starts with a dot\n..and two\n" * 30
    html = "<p>本文です。</p>\n.<p>dot first</p>\n" * 30
    jobs = []
    for n in range(1, count + 1):
        subscriber = make_subscriber(f"m{n}@example.jp", name=f"会員 {n}", language="ja")
        jobs.append((subscriber, build_message(
            subscriber=subscriber, subject="宇宙ビジネス週報", text=text, html=html, sender=SENDER,
            unsubscribe_url=unsubscribe_url("https://digest.example.org/u", subscriber.token), now=NOW,
            eight_bit=eight_bit)))
    return jobs, text, html


@pytest.mark.parametrize("offer", [True, False])
def test_8bit_bodies_only_to_a_server_that_offers_8bitmime(offer):
    handler = _MailOptionsHandler(offer_8bitmime=offer)
    with LocalSmtpServer(handler) as server:
        transport = transport_to(server)
        with transport:
            eight_bit = transport.accepts_8bitmime()
            jobs, text, html = _digest_jobs(eight_bit)
            results = deliver_all(jobs, transport, lambda result: None)
    assert eight_bit is offer and all(r.ok for r in results)
    assert handler.mail_options == ([["BODY=8BITMIME"]] * 2 if offer else [[]] * 2)
    for (_, msg), (_, _, raw, _) in zip(jobs, handler.messages):
        received = email.message_from_bytes(raw, policy=policy.default)
        parts = {p.get_content_type(): p for p in received.iter_parts()}
        assert {p["Content-Transfer-Encoding"] for p in parts.values()} == ({"8bit"} if offer else {"base64"})
        # Lines starting with a dot survive the DATA dot-stuffing both ways, byte for byte.
        def content(part):
            return part.get_content().replace("\r\n", "\n")

        assert content(parts["text/plain"]) == text and content(parts["text/html"]) == html
        assert raw.replace(b"\r\n", b"\n") == msg.as_bytes().replace(b"\r\n", b"\n")


def test_the_wire_form_of_a_digest_is_the_same_as_smtplib_would_send():
    from spacedigest.reports.mail import smtp_data

    jobs, _, _ = _digest_jobs(eight_bit=True, count=1)
    msg = jobs[0][1]
    payload = msg.smtp_payload()
    assert payload == smtp_data(msg.as_bytes())
    assert payload.endswith(b"\r\n.\r\n") and b"\r\n..a line that starts" in payload
    assert b"\n" not in payload.replace(b"\r\n", b"")
