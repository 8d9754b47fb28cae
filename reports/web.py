"""`spacedigest web`: the subscribers' side on the web (Starlette, served by uvicorn).

- `POST /unsubscribe?token=…` — RFC 8058 one-click (`List-Unsubscribe=One-Click`): done at once, 200.
  `GET` shows a page with a button and changes nothing (mail scanners open links).
- `/preferences?token=…` — language, organisations, categories, only calls open to Japan, pause,
  weekly or weekly plus the daily alert.
- `/subscribe` — the form with its consent wording; double opt-in: a confirmation mail whose link
  works once, for 48 hours (`/confirm`, again a page with a button). Only confirmed addresses are
  subscribers.
- everything else: the archive (`reports/site/`: index, digest pages, Atom feed, calendar) as files.

Nothing here waits for the warehouse: a change is committed to the journal (warehouse.journal)
before the app answers, and every run applies the journal before it sends. Pages show the
published warehouse copy with the journaled changes on top.

Security: tokens are 192 random bits, looked up by their SHA-256 and compared in constant time;
forms carry a CSRF token signed with an expiry and bound to a SameSite cookie; the sign-up answers
the same whatever the address (the mail itself differs: a known address gets its preferences link);
confirmation mails are limited per address and per client per hour; every page has a strict CSP,
`Referrer-Policy: no-referrer` and no script; templates autoescape; every bad request gets a clear
4xx page, and even a bug answers a page, never a traceback.
"""
from __future__ import annotations

import hmac
import mimetypes
import os
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import jinja2
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from spacedigest.reports import mail
from spacedigest.sources.i18n import LANGUAGES, category_label, strings
from spacedigest.reports.render import TEMPLATES, legal_lines, wrap_text
from spacedigest.reports.subscribers import (
    InvalidSubscriber, make_subscriber, new_token, normalize_email, plausible_token, preferences_of, same_hash,
    token_hash,
)
from spacedigest.warehouse import db, journal, records

CONFIRM_HOURS = 48
MAILS_PER_ADDRESS_PER_HOUR = 3  # a hundred sign-ups for one address send three mails at most
MAILS_PER_CLIENT_PER_HOUR = 10
FORM_MAX_AGE_S = 2 * 3600  # a CSRF token (and so a form) is good for two hours
BODY_MAX = 64 * 1024  # bytes in a form post
CSRF_COOKIE = "spacedigest_csrf"
ONE_CLICK = "List-Unsubscribe=One-Click"
APP_PATHS = ("/subscribe", "/confirm", "/preferences", "/unsubscribe", "/static/")

# No script anywhere. The app's pages take styles from /static/web.css only; archive pages are the
# digest's e-mail HTML, whose inline style attributes need 'unsafe-inline' (styles, never scripts).
CSP_APP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
           "frame-ancestors 'none'; base-uri 'none'")
CSP_ARCHIVE = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https:; form-action 'none'; "
               "frame-ancestors 'none'; base-uri 'none'")

mimetypes.add_type("application/atom+xml", ".atom")
mimetypes.add_type("text/calendar", ".ics")


class Refused(Exception):
    """A request answered with a 4xx page: status, title and text keys in strings.toml's [web]."""

    def __init__(self, status: int, key: str, lang: str = "ja", *, link: dict | None = None):
        super().__init__(key)
        self.status, self.key, self.lang, self.link = status, key, lang, link


@dataclass
class Form:
    """What the sign-up and preferences forms show (and send back)."""

    email: str = ""
    name: str = ""
    company: str = ""
    language: str = "ja"
    organisations: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    eligible_only: bool = False
    frequency: str = "weekly"
    paused: bool = False
    consent: bool = False


def secret_key(home: Path) -> bytes:
    """SPACEDIGEST_WEB_SECRET, else a random key kept in $SPACEDIGEST_HOME/web-secret.key (0600)."""
    configured = os.environ.get("SPACEDIGEST_WEB_SECRET", "").strip()
    if configured:
        return configured.encode()
    path = Path(home) / "web-secret.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key


class WebApp:
    def __init__(self, settings, *, organisations: list[str] | None = None, send_mail=None):
        self.settings = settings
        self.home = Path(settings.home)
        self.base = urlsplit(settings.site_url).path or "/"  # the app's path behind the reverse proxy
        self.signer = URLSafeTimedSerializer(secret_key(self.home), salt="spacedigest-csrf")
        self.organisations = organisations if organisations is not None else _catalog_organisations(settings)
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.text_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=False,
                                           undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                           keep_trailing_newline=True)
        self.text_env.filters["wrap"] = wrap_text
        self.send_mail = send_mail or self._send_mail

    # --- pages ------------------------------------------------------------------------------------

    def page(self, request: Request, template: str, lang: str, title: str, *, status: int = 200,
             csrf: str | None = None, **context) -> HTMLResponse:
        w = strings(lang)["web"]
        other = "en" if lang == "ja" else "ja"
        query = {k: v for k, v in request.query_params.items() if k in ("token",)}
        response = HTMLResponse(self.env.get_template(template).render(
            lang=lang, w=w, title=title, base=self.base, legal=legal_lines(self.settings.legal, lang),
            other_language_url=f"{request.url.path}?{urlencode({**query, 'lang': other})}",
            csrf=csrf or "", **context), status_code=status)
        return response

    def message(self, request: Request, lang: str, title_key: str, text_key: str | None = None, *,
                status: int = 200, link: dict | None = None, errors: list[str] = (), **fmt) -> HTMLResponse:
        w = strings(lang)["web"]
        paragraphs = [w[text_key].format(**fmt)] if text_key else []
        if self.settings.contact_email and status >= 400:
            paragraphs.append(w["contact"].format(email=self.settings.contact_email))
        return self.page(request, "web_message.html.j2", lang, w[title_key], status=status,
                         paragraphs=paragraphs, link=link, errors=list(errors))

    def refused(self, request: Request, exc: Refused) -> HTMLResponse:
        return self.message(request, exc.lang, f"{exc.key}_title", exc.key, status=exc.status, link=exc.link)

    # --- CSRF: a signed token bound to a SameSite cookie --------------------------------------------

    def csrf_for(self, request: Request) -> tuple[str, str | None]:
        """(form token, new cookie value or None when the browser already has one)."""
        cookie = request.cookies.get(CSRF_COOKIE, "")
        fresh = None
        if not (16 <= len(cookie) <= 64 and cookie.replace("-", "").replace("_", "").isalnum()):
            cookie = fresh = secrets.token_urlsafe(24)
        return self.signer.dumps(cookie), fresh

    def with_cookie(self, request: Request, response: Response, fresh: str | None) -> Response:
        if fresh:  # Secure when the browser came by https (behind the proxy: X-Forwarded-Proto)
            response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https", path=self.base)
        return response

    def check_csrf(self, request: Request, form: FormData, lang: str) -> None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        try:
            signed = self.signer.loads(str(form.get("csrf", "")), max_age=FORM_MAX_AGE_S)
        except BadSignature:
            raise Refused(403, "form_expired", lang) from None
        if not cookie or not isinstance(signed, str) or not hmac.compare_digest(signed.encode(), cookie.encode()):
            raise Refused(403, "form_expired", lang)

    # --- tokens -----------------------------------------------------------------------------------

    def email_of(self, raw: object, lang: str) -> str:
        """The address a mail or preferences token belongs to, or a 404 page."""
        if not plausible_token(raw):
            raise Refused(404 if raw else 400, "bad_link", lang)
        hashed = token_hash(raw)
        row = journal.find_token(self.home, hashed)
        if row is not None and row["purpose"] in ("mail", "manage") and same_hash(row["hash"], hashed):
            return row["email"]
        with db.reader(self.home) as con:
            legacy = records.legacy_token_email(con, hashed)
        if legacy is None:
            raise Refused(404, "bad_link", lang)
        return legacy

    async def member(self, request: Request):
        """(form posted, raw token, address, the subscriber as the next send sees it) of a token page."""
        form = await _form(request) if request.method == "POST" else FormData()
        raw = request.query_params.get("token") or form.get("token")
        email = self.email_of(raw, _lang(request))
        return form, raw, email, journal.subscriber_now(self.home, email)

    # --- handlers ---------------------------------------------------------------------------------

    async def unsubscribe(self, request: Request) -> Response:
        form, raw, email, current = await self.member(request)
        lang = _lang(request, current.language if current else "ja")
        w = strings(lang)["web"]
        if request.method == "GET":
            if current is None or not current.active:
                return self.message(request, lang, "unsubscribed_title", "unsubscribed", link=self._resubscribe(lang))
            csrf, fresh = self.csrf_for(request)
            return self.with_cookie(request, self.page(
                request, "web_button.html.j2", lang, w["unsubscribe_title"], csrf=csrf,
                intro=w["unsubscribe_intro"].format(email=email), button=w["unsubscribe_button"],
                action=f"{self.base}unsubscribe?{urlencode({'token': raw, 'lang': lang})}",
                hidden=[("List-Unsubscribe", "One-Click")]), fresh)
        one_click = form.get("List-Unsubscribe") == "One-Click"
        if not one_click:
            self.check_csrf(request, form, lang)
        if current is not None and current.active:
            journal.record_change(self.home, email, "unsubscribe",
                                  {"method": "one-click" if "csrf" not in form else "web-page"}, now=_now())
        return self.message(request, lang, "unsubscribed_title", "unsubscribed", link=self._resubscribe(lang))

    async def preferences(self, request: Request) -> Response:
        form, raw, email, current = await self.member(request)
        lang = _lang(request)
        if current is None or not current.active:
            return self.message(request, lang, "not_subscribed_title", "not_subscribed", link=self._resubscribe(lang))
        lang = _lang(request, current.language)
        saved, errors = False, []
        shown = Form(**{**preferences_of(current), "email": email, "organisations": tuple(current.organisations),
                        "categories": tuple(current.categories)})
        if request.method == "POST":
            self.check_csrf(request, form, lang)
            shown, errors = self._read_choices(form, lang, email=email, paused=form.get("paused") == "yes",
                                               name=current.name, company=current.company)
            if not errors:
                changed = {k: v for k, v in preferences_of(_as_subscriber(shown)).items()
                           if k not in ("name", "company")}
                journal.record_change(self.home, email, "preferences", changed, now=_now())
                lang, saved = shown.language, True
        status = 400 if errors else 200
        w = strings(lang)["web"]
        csrf, fresh = self.csrf_for(request)
        return self.with_cookie(request, self.page(
            request, "web_preferences.html.j2", lang, w["preferences_title"], status=status, csrf=csrf,
            intro=w["preferences_intro"].format(email=email), form=shown, errors=errors, saved=saved, token=raw,
            unsubscribe_url=f"{self.base}unsubscribe?{urlencode({'token': raw})}", **self._choices(lang)), fresh)

    async def subscribe(self, request: Request) -> Response:
        lang = _lang(request)
        if request.method == "GET":
            return self._subscribe_page(request, lang, Form(language=lang))
        form = await _form(request)
        self.check_csrf(request, form, lang)
        shown, errors = self._read_choices(form, lang, email=str(form.get("email", "")),
                                           name=str(form.get("name", "")), company=str(form.get("company", "")))
        shown.consent = form.get("consent") == "yes"
        w = strings(lang)["web"]
        if not shown.consent:
            errors.append(w["consent_needed"])
        if errors:
            return self._subscribe_page(request, lang, shown, errors=errors, status=400)
        email = normalize_email(shown.email)
        client = request.client.host if request.client else "unknown"
        now = _now()
        with journal.connect(self.home) as conn, journal.transaction(conn):
            by_address, by_client = journal.confirmation_mails_in_last_hour(conn, email, client, now=now)
            if by_client >= MAILS_PER_CLIENT_PER_HOUR:
                raise Refused(429, "too_many", lang)
            mail_token = None
            if by_address < MAILS_PER_ADDRESS_PER_HOUR:
                journal.log_confirmation_mail(conn, email, client, now=now)
                mail_token = new_token()
                data = {"name": shown.name, "company": shown.company, "language": shown.language,
                        "organisations": list(shown.organisations), "categories": list(shown.categories),
                        "eligible_only": shown.eligible_only, "frequency": shown.frequency,
                        "consent": {"wording_version": f"{w['consent_version']}/{lang}", "client": client,
                                    "form_sent_at": now.isoformat(), "wording": w["consent"]}}
                journal.put_token(conn, token_hash(mail_token), email, "confirm", now=now,
                                  expires_at=now + timedelta(hours=CONFIRM_HOURS), data=data)
        # The same answer, at once, whatever the address: the mail goes out after the response.
        task = BackgroundTask(self._confirmation_mail, email, mail_token, shown.language) if mail_token else None
        response = self.message(request, lang, "check_mail_title", "check_mail")
        response.background = task
        return response

    async def confirm(self, request: Request) -> Response:
        lang = _lang(request)
        form = await _form(request) if request.method == "POST" else FormData()
        raw = request.query_params.get("token") or form.get("token")
        if not plausible_token(raw):
            raise Refused(404 if raw else 400, "bad_link", lang)
        w = strings(lang)["web"]
        expired = Refused(410, "expired", lang, link=self._resubscribe(lang))
        if request.method == "GET":
            row = journal.find_token(self.home, token_hash(raw))
            if row is None or row["purpose"] != "confirm":
                raise Refused(404, "bad_link", lang)
            if row["used_at"] or (row["expires_at"] and row["expires_at"] <= _now()):
                raise expired
            csrf, fresh = self.csrf_for(request)
            return self.with_cookie(request, self.page(
                request, "web_button.html.j2", lang, w["confirm_title"], csrf=csrf, intro=w["confirm_intro"],
                button=w["confirm_button"], action=f"{self.base}confirm?lang={lang}", hidden=[("token", raw)]), fresh)
        self.check_csrf(request, form, lang)
        now = _now()
        hashed = token_hash(raw)
        manage = new_token()
        with journal.connect(self.home) as conn, journal.transaction(conn):
            used = journal.use_token(conn, hashed, now=now)
            if used is not None:  # the token used, the sign-up journaled: both or neither
                email, data = used
                journal.put_token(conn, token_hash(manage), email, "manage", now=now)
                journal.add_change(conn, email, "subscribe", data, now=now)
        if used is None:
            row = journal.find_token(self.home, hashed)
            raise expired if row is not None and row["purpose"] == "confirm" else Refused(404, "bad_link", lang)
        return self.message(request, lang, "confirmed_title", "confirmed", link={
            "url": f"{self.base}preferences?{urlencode({'token': manage})}", "label": w["manage_link"]})

    async def stylesheet(self, request: Request) -> Response:
        return Response((Path(__file__).parent / "static" / "web.css").read_bytes(), media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})

    # --- helpers ----------------------------------------------------------------------------------

    def _resubscribe(self, lang: str) -> dict:
        return {"url": f"{self.base}subscribe?lang={lang}", "label": strings(lang)["web"]["resubscribe"]}

    def _choices(self, lang: str) -> dict:
        from spacedigest.sources.classify import CATEGORIES

        return {"languages": [(code, strings(code)["language_name"]) for code in LANGUAGES],
                "categories": [(key, category_label(key, lang)) for key in CATEGORIES],
                "organisations": self.organisations}

    def _subscribe_page(self, request: Request, lang: str, form: Form, *, errors=(), status: int = 200) -> Response:
        w = strings(lang)["web"]
        csrf, fresh = self.csrf_for(request)
        return self.with_cookie(request, self.page(
            request, "web_subscribe.html.j2", lang, w["subscribe_title"], status=status, csrf=csrf, form=form,
            errors=list(errors), consent=w["consent"], consent_version=w["consent_version"], **self._choices(lang)),
            fresh)

    def _read_choices(self, form: FormData, lang: str, *, email: str, name: str, company: str,
                      paused: bool = False) -> tuple[Form, list[str]]:
        """The form's choices, checked as the CLI checks them; (what to show again, errors)."""
        from spacedigest.sources.classify import CATEGORIES

        organisations = tuple(o for o in form.getlist("organisations") if o in self.organisations)
        categories = tuple(c for c in form.getlist("categories") if c in CATEGORIES)
        shown = Form(email=email[:254], name=name[:100], company=company[:100],
                     language=str(form.get("language", lang)), organisations=organisations, categories=categories,
                     eligible_only=form.get("eligible_only") == "yes", frequency=str(form.get("frequency", "weekly")),
                     paused=paused)
        errors = []
        try:
            checked = make_subscriber(email, name, shown.language, organisations, categories, shown.eligible_only,
                                      company=company, frequency=shown.frequency, paused=paused)
            shown.name, shown.company = checked.name, checked.company
        except InvalidSubscriber as exc:
            errors.append(f"{strings(lang)['web']['invalid_title']}: {exc}")
            if shown.language not in LANGUAGES:
                shown.language = lang
        return shown, errors

    def _confirmation_mail(self, email: str, raw: str, lang: str) -> None:
        """After the answer: a confirmation link, or for an address already subscribed its preferences link."""
        w = strings(lang)["web"]
        now = _now()
        known = journal.subscriber_now(self.home, email)
        if known is not None and known.active:
            manage = new_token()
            with journal.connect(self.home) as conn, journal.transaction(conn):
                journal.put_token(conn, token_hash(manage), email, "manage", now=now)
            subject, body, ignore = w["mail_known_subject"], w["mail_known_body"], None
            url = urljoin(self.settings.site_url, "preferences?" + urlencode({"token": manage}))
        else:
            subject, body, ignore = w["mail_confirm_subject"], w["mail_confirm_body"], w["mail_confirm_ignore"]
            url = urljoin(self.settings.site_url, "confirm?" + urlencode({"token": raw, "lang": lang}))
        text = self.text_env.get_template("web_confirm_mail.txt.j2").render(
            body=body, url=url, ignore=ignore, width=72, legal=legal_lines(self.settings.legal, lang))
        try:
            self.send_mail(mail.build_notice(to=email, subject=subject, text=text, sender=self.settings.sender, now=now))
        except Exception as exc:  # after the answer: nobody to show it to but the log
            print(f"spacedigest web: confirmation mail to {email} not sent: {' '.join(str(exc).split())}",
                  file=sys.stderr)

    def _send_mail(self, message) -> None:
        from spacedigest.reports import deliver

        with deliver.transport_for(self.settings.smtp_url, self.settings.outbox_dir) as transport:
            transport.send(message)


def _as_subscriber(form: Form):
    return make_subscriber(form.email, form.name, form.language, form.organisations, form.categories,
                           form.eligible_only, company=form.company, frequency=form.frequency, paused=form.paused)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _lang(request: Request, default: str = "ja") -> str:
    asked = request.query_params.get("lang", "")
    return asked if asked in LANGUAGES else default if default in LANGUAGES else "ja"


async def _form(request: Request) -> FormData:
    """The posted form, at most BODY_MAX bytes; 413/400 pages otherwise."""
    lang = _lang(request)
    length = request.headers.get("content-length", "")
    if length and (not length.isdigit() or int(length) > BODY_MAX):
        raise Refused(413, "too_large", lang)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_MAX:
            raise Refused(413, "too_large", lang)
    request._body = body  # Starlette reads the form from the body already received
    try:
        return await request.form(max_files=0, max_fields=200)
    except Exception:  # malformed multipart, files, undecodable: the form is unusable
        raise Refused(400, "invalid", lang) from None


def _catalog_organisations(settings) -> list[str]:
    from spacedigest.sources.catalog import load_catalog

    return sorted({s.organisation for s in load_catalog(settings.sources) if s.enabled}, key=str.casefold)


class SecurityHeaders:
    """Pure ASGI middleware: the same headers on every answer, error pages included; an exception
    that escaped the app (a bug, a full disk) is one line on stderr and a 503 page, never a trace."""

    def __init__(self, app, base: str, fallback):
        self.app = app
        self.base = base
        self.fallback = fallback

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        inner = path[len(self.base) - 1:] if path.startswith(self.base) else path
        app_page = inner.startswith(APP_PATHS)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                headers += [
                    (b"content-security-policy", (CSP_APP if app_page else CSP_ARCHIVE).encode()),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if app_page and not inner.startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            if message["type"] == "http.response.start":
                started.append(True)
            await send(message)

        started: list[bool] = []
        try:
            await self.app(scope, receive, with_headers)
        except Exception as exc:
            request = Request(scope)
            print(f"spacedigest web: {request.method} {request.url.path}: {type(exc).__name__}: "
                  f"{' '.join(str(exc).split())[:300]}", file=sys.stderr)
            if not started:
                await self.fallback(request)(scope, receive, with_headers)


def create_app(settings, *, organisations: list[str] | None = None, send_mail=None) -> Starlette:
    """The ASGI application. `send_mail` replaces the SMTP/outbox delivery of confirmation mails."""
    web = WebApp(settings, organisations=organisations, send_mail=send_mail)
    site = Path(settings.reports_dir) / "site"
    site.mkdir(parents=True, exist_ok=True)

    async def refused(request: Request, exc: Refused) -> Response:
        return web.refused(request, exc)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        key = {404: "not_found", 405: "method", 413: "too_large"}.get(exc.status_code, "invalid")
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        return web.refused(request, Refused(status, key, _lang(request)))

    routes = [
        Route("/subscribe", web.subscribe, methods=["GET", "POST"]),
        Route("/confirm", web.confirm, methods=["GET", "POST"]),
        Route("/preferences", web.preferences, methods=["GET", "POST"]),
        Route("/unsubscribe", web.unsubscribe, methods=["GET", "POST"]),
        Route("/static/web.css", web.stylesheet),
        Mount("/", app=StaticFiles(directory=str(site), html=True, check_dir=False)),
    ]
    async def server_error(request: Request, exc: Exception) -> Response:
        # Starlette answers with this, then re-raises: SecurityHeaders logs the one line.
        return web.refused(request, Refused(503, "server_error", _lang(request)))

    inner = Starlette(routes=routes, exception_handlers={
        Refused: refused, HTTPException: http_error, Exception: server_error})
    # Behind a reverse proxy at SPACEDIGEST_SITE_URL's path (say /digest/), the app answers below it.
    app = inner if web.base == "/" else Starlette(routes=[Mount(web.base.rstrip("/"), app=inner)],
                                                  exception_handlers={HTTPException: http_error,
                                                                      Exception: server_error})
    return SecurityHeaders(app, web.base, lambda request: web.refused(request, Refused(503, "server_error",
                                                                                       _lang(request))))
