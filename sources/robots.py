"""robots.txt for page sources: fetched once per scheme+host per run, with our own User-Agent.

Feeds are fetched regardless (they exist to be polled); page sources and detail pages ask
`RobotsCache.allowed(url)` first. Matching is RFC 9309's, by Protego (the parser Scrapy uses):
the group naming our product token, else `*`; within it the longest matching rule wins, `Allow`
on a tie; `*` matches any run of characters and `$` anchors the end of the path.
(urllib.robotparser, used before, takes the first matching rule and treats `*` and `$` as
literal characters, so `Disallow: /*.pdf$` never matched anything.)

What an unavailable robots.txt means (RFC 9309, section 2.3.1): a 4xx answer allows everything;
a 5xx or an unreachable server is, by this project's choice, also treated as allowed, with a
note the run can show, because such a host will most likely fail the page fetch itself anyway.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from urllib.parse import urlsplit

import requests
from protego import Protego

from spacedigest.sources.retrieve import DEFAULT_POLICY, FetchPolicy, HostLimiter, fetch

# Google reads the first 500 KiB of a robots.txt; nothing legitimate is bigger.
ROBOTS_MAX_BYTES = 512 * 1024


class _HostRules:
    """The outcome for one scheme+host: a parser, or a note explaining why everything is allowed."""

    def __init__(self, robots_url: str, parser: Protego | None, note: str | None):
        self.robots_url = robots_url
        self.parser = parser
        self.note = note


class RobotsCache:
    """Answers "may we fetch this URL?" for the life of the object (one run). Thread-safe:
    concurrent questions about one host wait for a single robots.txt fetch."""

    def __init__(
        self,
        session: requests.Session | None = None,
        policy: FetchPolicy = DEFAULT_POLICY,
        limiter: HostLimiter | None = None,
    ):
        self.session = session
        self.policy = replace(policy, max_bytes=min(policy.max_bytes, ROBOTS_MAX_BYTES))
        self.limiter = limiter
        # The product token robots.txt groups are matched against ("spacedigest").
        self.agent = policy.user_agent.split("/")[0].strip() or policy.user_agent
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}
        self._rules: dict[str, _HostRules] = {}

    def allowed(self, url: str) -> tuple[bool, str | None]:
        """(True, None) when allowed; (False, reason) when disallowed; (True, note) when
        robots.txt could not be read and the URL is allowed by default."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            return True, None  # robots.txt governs http(s) only; fetch refuses anything else
        key = f"{scheme}://{parts.netloc.lower()}"
        rules = self._rules_for(key)
        if rules.parser is None:
            return True, rules.note
        if rules.parser.can_fetch(url, self.agent):
            return True, None
        return False, f"disallowed by robots.txt at {rules.robots_url} for {self.agent}"

    def _rules_for(self, key: str) -> _HostRules:
        with self._lock:
            if key in self._rules:
                return self._rules[key]
            host_lock = self._host_locks.setdefault(key, threading.Lock())
        with host_lock:
            with self._lock:
                if key in self._rules:
                    return self._rules[key]
            rules = self._load(key)
            with self._lock:
                self._rules[key] = rules
            return rules

    def _load(self, key: str) -> _HostRules:
        robots_url = f"{key}/robots.txt"
        fetched = fetch("robots.txt", robots_url, policy=self.policy, session=self.session, limiter=self.limiter)
        if fetched.status == "ok":
            text = (fetched.body or b"").decode("utf-8", errors="replace")
            return _HostRules(robots_url, Protego.parse(text), None)
        status = fetched.http_status
        if status is not None and 400 <= status < 500:
            return _HostRules(robots_url, None, None)  # no robots.txt: everything allowed
        return _HostRules(
            robots_url, None, f"robots.txt at {robots_url} unavailable ({fetched.error}); treated as allowing all"
        )


__all__ = ["RobotsCache", "ROBOTS_MAX_BYTES"]
