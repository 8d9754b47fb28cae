"""Settings from environment variables (same names as the command-line options where both exist)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PLACEHOLDER_SENDER = "spacedigest <digest@example.invalid>"


@dataclass(frozen=True)
class Settings:
    home: Path
    sources: Path | None  # a catalog replacing the built-in one
    smtp_url: str | None  # unset: .eml files in $home/outbox
    sender: str
    site_url: str  # public base URL of the web app and archive (links in mails and the Atom feed)
    staff_email: str | None  # receives the sources-needing-attention report
    max_workers: int  # concurrent fetches
    per_host: int  # concurrent requests to one host
    capture_days: int  # raw captures kept this long
    fetch_deadline: float  # seconds one fetch may take in all (retries and redirects included)
    task_runner: str  # threads | dask
    dask_address: str | None
    parse_processes: int | None = None  # None: decided by the catalog's size and the cores
    rates: Path | None = None  # yen rates table replacing the built-in sources/rates.toml
    translate: str | None = None  # deepl | openai: machine translation into Japanese (off when unset)
    translate_budget: int = 20_000  # characters a run may send to the translator
    deepl_key: str | None = None
    deepl_url: str | None = None
    openai_url: str | None = None  # an OpenAI-compatible /chat/completions base URL (OpenAI, Ollama, vLLM)
    openai_model: str | None = None
    openai_key: str | None = None
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    site_url_set: bool = False  # False: site_url is the web app's own address, members cannot reach it
    sender_name: str | None = None  # shown in every mail (特定電子メール法)
    postal_address: str | None = None
    contact_email: str | None = None
    review_hours: float | None = None  # staff get a preview; members the digest this many hours later

    def legal_missing(self) -> list[str]:
        """The settings every mail must show (sender, postal address, contact, a reachable opt-out
        link) that are not set."""
        missing = [name for name, value in (("SPACEDIGEST_SENDER_NAME", self.sender_name),
                                            ("SPACEDIGEST_POSTAL_ADDRESS", self.postal_address),
                                            ("SPACEDIGEST_CONTACT_EMAIL", self.contact_email)) if not value]
        if not self.site_url_set:
            missing.append("SPACEDIGEST_SITE_URL")
        return missing

    @property
    def legal(self) -> dict[str, str]:
        """What the legal footer of every mail shows."""
        return {"sender_name": self.sender_name or "", "postal_address": self.postal_address or "",
                "contact_email": self.contact_email or ""}

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"spacedigest: setting {name}={raw!r} is not a whole number") from None


def load_settings() -> Settings:
    env = os.environ.get
    sources = env("SPACEDIGEST_SOURCES") or None
    web_host = (env("SPACEDIGEST_WEB_HOST") or "127.0.0.1").strip()
    web_port = _int("SPACEDIGEST_WEB_PORT", 8080)
    if not 0 < web_port < 65536:
        raise SystemExit(f"spacedigest: setting SPACEDIGEST_WEB_PORT={web_port} is not a port (1-65535)")
    site_url = (env("SPACEDIGEST_SITE_URL") or "").strip()
    # Mail links point at the web app: at its own address until the public one is set.
    own_url = f"http://{'[' + web_host + ']' if ':' in web_host else web_host}:{web_port}/"
    return Settings(
        home=Path(env("SPACEDIGEST_HOME") or "./data").expanduser().resolve(),
        sources=Path(sources).expanduser() if sources else None,
        smtp_url=env("SPACEDIGEST_SMTP_URL") or None,
        sender=env("SPACEDIGEST_FROM") or PLACEHOLDER_SENDER,
        site_url=_with_slash(site_url or own_url),
        staff_email=env("SPACEDIGEST_STAFF_EMAIL") or None,
        max_workers=_int("SPACEDIGEST_WORKERS", 16),
        per_host=_int("SPACEDIGEST_PER_HOST", 4),
        capture_days=_int("SPACEDIGEST_CAPTURE_DAYS", 180),
        fetch_deadline=float(_int("SPACEDIGEST_FETCH_DEADLINE", 60)),
        task_runner=env("SPACEDIGEST_TASK_RUNNER") or "threads",
        dask_address=env("SPACEDIGEST_DASK_ADDRESS") or None,
        parse_processes=_int("SPACEDIGEST_PARSE_PROCESSES", -1) if env("SPACEDIGEST_PARSE_PROCESSES", "").strip() else None,
        web_host=web_host,
        web_port=web_port,
        site_url_set=bool(site_url),
        sender_name=(env("SPACEDIGEST_SENDER_NAME") or "").strip() or None,
        postal_address=(env("SPACEDIGEST_POSTAL_ADDRESS") or "").strip() or None,
        contact_email=(env("SPACEDIGEST_CONTACT_EMAIL") or "").strip() or None,
        review_hours=_hours("SPACEDIGEST_REVIEW_HOURS"),
        rates=Path(env("SPACEDIGEST_RATES")).expanduser() if env("SPACEDIGEST_RATES") else None,
        translate=(env("SPACEDIGEST_TRANSLATE") or "").strip().lower() or None,
        translate_budget=_int("SPACEDIGEST_TRANSLATE_BUDGET", 20_000),
        deepl_key=env("SPACEDIGEST_DEEPL_KEY") or env("DEEPL_AUTH_KEY") or None,
        deepl_url=env("SPACEDIGEST_DEEPL_URL") or None,
        openai_url=env("SPACEDIGEST_OPENAI_URL") or None,
        openai_model=env("SPACEDIGEST_OPENAI_MODEL") or None,
        openai_key=env("SPACEDIGEST_OPENAI_KEY") or env("OPENAI_API_KEY") or None,
    )


def _hours(name: str) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not 0 < value <= 24 * 7:
        raise SystemExit(f"spacedigest: setting {name}={raw!r} is not a number of hours (more than 0, at most a week)")
    return value


def _with_slash(url: str) -> str:
    """The base URL with a trailing slash, so page names join below it (…/digest + unsubscribe)."""
    return url if url.endswith("/") else url + "/"


def quiet_prefect(home: Path) -> None:
    """Offline-safe, quiet Prefect: no telemetry, state under $SPACEDIGEST_HOME, warnings only.

    Must run before prefect is imported (it reads its settings at import).
    """
    if "PREFECT_HOME" not in os.environ:
        try:
            (home / "prefect").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SystemExit(f"spacedigest: cannot create {home / 'prefect'}: {exc.strerror}") from None
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
    # Our own one-line summaries report failures; Prefect must not print tracebacks to the user.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_CLI_COLORS", "false")
    # Prefect's background services log under their class names, outside the "prefect" logger
    # tree, so the level above misses them ("EventsWorker - Still processing items" on shutdown).
    import logging

    for service in ("EventsWorker", "APILogWorker", "QueueService"):
        logging.getLogger(service).setLevel(logging.CRITICAL)
