"""Optional machine translation of titles and summaries into Japanese (off by default).

Through a translator the association may already pay for: the DeepL API, or any OpenAI-compatible
chat endpoint (a local Ollama or vLLM as much as a cloud one). The network edge of the digest:

- each text is translated once: the warehouse keeps every translation by the hash of its text
  (`translations`), so a text seen again costs nothing;
- a run spends at most a character budget (`SPACEDIGEST_TRANSLATE_BUDGET`), the rest waits for the
  next run;
- a translator that fails, refuses or times out never fails a run: the original text is used and one
  warning line says why;
- the digest marks what a machine translated (機械翻訳).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from typing import Protocol

import requests

TARGET = "ja"
DEFAULT_BUDGET = 20_000  # characters per run
TIMEOUT_S = 20.0  # one request
DEADLINE_S = 60.0  # the whole translation step of a run
MAX_TEXT = 2_000  # characters sent for one text (summaries are shorter)
SYSTEM_PROMPT = ("You translate announcements of space-agency funding calls, tenders and events into natural "
                 "Japanese for Japanese companies. Keep names of programmes, organisations and amounts as they "
                 "are. Answer with the translation only.")


class TranslationError(Exception):
    """A translator that could not translate; the message is one line."""


class Translator(Protocol):
    name: str

    def translate(self, texts: list[str]) -> list[str]:
        """The texts in Japanese, in order; TranslationError when it cannot."""


def text_hash(text: str, target: str = TARGET) -> str:
    return hashlib.blake2b(f"{target}\x1f{text}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _post(url: str, *, headers: dict, payload: dict, what: str) -> dict:
    try:
        answer = requests.post(url, headers=headers, json=payload, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise TranslationError(f"{what} at {url}: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}") from None
    if answer.status_code != 200:
        raise TranslationError(f"{what} at {url}: HTTP {answer.status_code} {' '.join(answer.text.split())[:120]}")
    try:
        return answer.json()
    except ValueError:
        raise TranslationError(f"{what} at {url}: the answer is not JSON") from None


@dataclass
class DeepL:
    """DeepL API v2: POST /v2/translate with `Authorization: DeepL-Auth-Key KEY`."""

    api_key: str
    url: str = ""  # default: the free API for keys ending ":fx", else the pro API
    name: str = "deepl"

    def endpoint(self) -> str:
        base = self.url or ("https://api-free.deepl.com" if self.api_key.endswith(":fx") else "https://api.deepl.com")
        return base.rstrip("/") + "/v2/translate"

    def translate(self, texts: list[str]) -> list[str]:
        data = _post(self.endpoint(), headers={"Authorization": f"DeepL-Auth-Key {self.api_key}"},
                     payload={"text": texts, "target_lang": "JA"}, what="DeepL")
        try:
            out = [t["text"] for t in data["translations"]]
        except (KeyError, TypeError):
            raise TranslationError("DeepL: no 'translations' in the answer") from None
        if len(out) != len(texts) or not all(isinstance(t, str) for t in out):
            raise TranslationError("DeepL: the answer does not match the texts sent")
        return out


@dataclass
class OpenAICompatible:
    """Any /chat/completions endpoint speaking OpenAI's format (OpenAI, Azure-style proxies, Ollama, vLLM)."""

    base_url: str
    model: str
    api_key: str = ""
    name: str = "openai"

    def translate(self, texts: list[str]) -> list[str]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        out = []
        for text in texts:
            data = _post(self.base_url.rstrip("/") + "/chat/completions", headers=headers, what="chat endpoint",
                         payload={"model": self.model, "temperature": 0,
                                  "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                                               {"role": "user", "content": text}]})
            try:
                content = data["choices"][0]["message"]["content"]
            except (KeyError, IndexError, TypeError):
                raise TranslationError("chat endpoint: no choices[0].message.content in the answer") from None
            if not isinstance(content, str) or not content.strip():
                raise TranslationError("chat endpoint: an empty translation")
            out.append(" ".join(content.split()))
        return out


def translator_for(kind: str | None, *, deepl_key: str | None = None, deepl_url: str | None = None,
                   openai_url: str | None = None, openai_model: str | None = None,
                   openai_key: str | None = None) -> Translator | None:
    """The configured translator, or None when translation is off; ValueError naming what is missing."""
    if not kind:
        return None
    if kind == "deepl":
        if not deepl_key:
            raise ValueError("SPACEDIGEST_TRANSLATE=deepl needs the API key in SPACEDIGEST_DEEPL_KEY (or DEEPL_AUTH_KEY)")
        return DeepL(deepl_key, deepl_url or "")
    if kind == "openai":
        if not openai_url or not openai_model:
            raise ValueError("SPACEDIGEST_TRANSLATE=openai needs SPACEDIGEST_OPENAI_URL (the /v1 base URL) and "
                             "SPACEDIGEST_OPENAI_MODEL")
        return OpenAICompatible(openai_url, openai_model, openai_key or "")
    raise ValueError(f"SPACEDIGEST_TRANSLATE={kind!r}: expected deepl or openai")


@dataclass
class Outcome:
    translations: dict[str, str] = field(default_factory=dict)  # text hash -> Japanese
    characters: int = 0
    left_for_later: int = 0  # texts over the budget or the deadline
    warning: str | None = None


def translate_missing(texts: list[str], known: dict[str, str], translator: Translator, *,
                      budget: int = DEFAULT_BUDGET, batch: int = 20) -> Outcome:
    """Translate the texts not yet known (by hash), within the character budget and the deadline.
    Never raises: a failure ends the step with a warning and what was done so far."""
    outcome = Outcome()
    todo: dict[str, str] = {}  # text hash -> the text sent (capped)
    for text in texts:
        key = text_hash(text)
        if text and key not in known and key not in todo:
            todo[key] = text[:MAX_TEXT]
    started = time.monotonic()
    chosen: list[tuple[str, str]] = []
    for key, text in todo.items():
        if outcome.characters + len(text) > budget:
            outcome.left_for_later += 1
            continue
        outcome.characters += len(text)
        chosen.append((key, text))
    for start in range(0, len(chosen), batch):
        if time.monotonic() - started > DEADLINE_S:
            outcome.left_for_later += len(chosen) - start
            outcome.warning = f"translate: {translator.name}: stopped at the {DEADLINE_S:g} s deadline; originals used"
            break
        part = chosen[start:start + batch]
        try:
            done = translator.translate([text for _, text in part])
        except TranslationError as exc:
            outcome.left_for_later += len(chosen) - start
            outcome.warning = f"translate: {exc}; originals used"
            break
        outcome.translations.update({key: dst for (key, _), dst in zip(part, done)})
    return outcome


def texts_to_translate(items) -> list[str]:
    """The titles and summaries of the items not written in Japanese."""
    return [text for item in items if item.language != TARGET for text in (item.title, item.summary) if text]


def with_translations(items: list, known: dict[str, str]) -> list:
    """The items with the Japanese translations of their title and summary, where one is known."""
    return [replace(item, title_ja=known.get(text_hash(item.title)),
                    summary_ja=known.get(text_hash(item.summary)) if item.summary else None)
            if item.language != TARGET else item
            for item in items]


def rows_of(outcome: Outcome, texts: list[str], provider: str, now) -> list[dict]:
    """The new translations as rows of `translations`."""
    source = {text_hash(t): t for t in texts}
    return [{"text_hash": key, "target_lang": TARGET, "source_text": source[key], "translated": value,
             "provider": provider, "created_at": now} for key, value in outcome.translations.items() if key in source]
