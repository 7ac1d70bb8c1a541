"""Masking secrets before anything is written to trials, memory, datasets or logs.

`Redactor` masks text that looks like a secret (provider API keys, bearer tokens, passwords in
URLs, ``password=...`` / ``"api_key": "..."`` assignments, private key blocks) plus whatever
patterns or functions the user adds; in JSON-like data it also masks every string stored under a
secret-looking key (``password``, ``api_key``, ``access_token``...). `RedactingFilter` does the
same for log records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict

from langchain_ste.trial import Trial

MASK = "[REDACTED]"

_KEY_WORDS = (
    r"api[_-]?key|apikey|secret(?:[_-]?key)?|client[_-]?secret|password|passwd|pwd|passphrase"
    r"|(?:access|auth|refresh|session|bearer|id)?[_-]?token|access[_-]?key|private[_-]?key"
    r"|account[_-]?key|signature|credentials?|authorization"
)
_AUTH_SCHEMES = r"bearer|basic|token|digest|negotiate|ntlm|apikey|api-key|key|jwt|sso-key|splunk"
"""Scheme words of an ``Authorization`` header: the credential after them is masked."""

DEFAULT_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?-----END [A-Z0-9 ]*PRIVATE KEY"
        r"(?: BLOCK)?-----",
        re.DOTALL,
    ),
    re.compile(r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b"),  # age encryption keys
    re.compile(r"\bsk-(?:ant-|proj-|or-)?[A-Za-z0-9_\-]{16,}"),  # OpenAI, Anthropic, OpenRouter
    re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),  # Stripe
    re.compile(r"\b(?:ghp|gho|ghs|ghu|ghr|github_pat)_[A-Za-z0-9_]{20,}"),  # GitHub
    re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}"),  # GitLab
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
    # AWS secret access keys: 40 characters of base64 with upper, lower case and digits
    re.compile(
        r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[A-Z])"
        r"(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
    ),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"),  # Google API keys
    re.compile(r"\bya29\.[0-9A-Za-z_\-]{20,}"),  # Google OAuth access tokens
    re.compile(r"\bGOCSPX-[0-9A-Za-z_\-]{20,}"),  # Google OAuth client secrets
    re.compile(r"\bhf_[A-Za-z0-9]{30,}"),  # Hugging Face
    re.compile(r"\bgsk_[A-Za-z0-9]{20,}"),  # Groq
    re.compile(r"\br8_[A-Za-z0-9]{30,}"),  # Replicate
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]{20,}"),  # Slack webhooks
    re.compile(r"https://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/\d+/[\w\-]{20,}"),
    re.compile(r"\bSG\.[\w\-]{16,}\.[\w\-]{16,}"),  # SendGrid
    re.compile(r"\bkey-[0-9a-f]{32}\b"),  # Mailgun
    re.compile(r"\bSK[0-9a-f]{32}\b"),  # Twilio API keys
    re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"),  # npm
    re.compile(r"\bpypi-[A-Za-z0-9_\-]{50,}"),  # PyPI
    re.compile(r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"),  # Shopify
    re.compile(r"\bdo[pro]_v1_[a-f0-9]{64}\b"),  # DigitalOcean
    re.compile(r"\bdapi[0-9a-f]{32}\b"),  # Databricks
    re.compile(r"\b\d{8,10}:AA[0-9A-Za-z_\-]{33}\b"),  # Telegram bots
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),  # JWT
    re.compile(r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/\-]{12,}=*"),
    # Authorization: Token abc / Authorization: abc (the scheme word is kept)
    re.compile(
        rf"(?i)\b(?:proxy-)?authorization\b[\"']?\s*[:=]\s*[\"']?(?>(?:(?:{_AUTH_SCHEMES})\s+)?)"
        r"(?P<secret>(?!\[REDACTED\])[^\s\"',;]{3,})"
    ),
    re.compile(r"(?i)\b(?:set-)?cookie\b\s*:\s*(?P<secret>[^\r\n\"']{3,})"),  # cookie headers
    # user:password@ in URLs (the user may be empty, the password may hold a slash; a port
    # followed by a path is not a password)
    re.compile(r"(?<=://)[^/\s:@]*:(?!\d{1,5}(?:/|$))(?P<secret>[^\s@]+?)(?=@[^\s@/]+)"),
    # "api_key": "a value, maybe with spaces" / 'password': '...'
    re.compile(
        rf"(?i)[\"'][\w-]*(?:{_KEY_WORDS})[\"']\s*:\s*\"(?P<secret>(?:[^\"\\]|\\.){{3,}})\""
    ),
    re.compile(rf"(?i)[\"'][\w-]*(?:{_KEY_WORDS})[\"']\s*:\s*'(?P<secret>[^']{{3,}})'"),
    # password=hunter2, API_KEY: abc123, ?token=abc123 (unquoted values)
    re.compile(
        rf"(?i)\b[\w-]*(?:{_KEY_WORDS})\b[\"']?\s*[:=]\s*[\"']?(?>(?:(?:{_AUTH_SCHEMES})\s+)?)"
        r"(?P<secret>(?!\[REDACTED\])[^\s\"',;&}\]]{4,})"
    ),
    # command lines: --password hunter2, --api-key abc123
    re.compile(rf"(?i)--[\w-]*(?:{_KEY_WORDS})\s+(?P<secret>(?!\[REDACTED\])[^\s\"']{{4,}})"),
)
"""The built-in secret formats (see docs/safety.md for the list)."""

SECRET_KEY = re.compile(rf"(?i)^(?:[\w-]*[_-])?(?:{_KEY_WORDS})$")
"""Dictionary keys whose string values are always masked (``password``, ``db_api_key``...)."""


class Redactor:
    """Replaces secret-looking substrings with ``[REDACTED]``.

    A pattern with a named group ``secret`` masks only that group (keeping e.g. the
    ``password=`` before it); otherwise the whole match is masked.

    Args:
        patterns: regular expressions whose matches are masked (`DEFAULT_PATTERNS` by default).
        extra: more patterns, or functions ``str -> str`` supplied by the user.
        secret_keys: in JSON-like data, string values under keys matching this are masked
            whole; None turns that off.

    Example:
        >>> r = Redactor(extra=[r"ACME-\\d{6}", lambda s: s.replace("Bob", "[NAME]")])
        >>> r.redact_text("Bob's key ACME-123456, url https://bob:hunter22@db.example.com")
        "[NAME]'s key [REDACTED], url https://bob:[REDACTED]@db.example.com"
        >>> r.redact_value({"password": "pw", "n": 3})
        {'password': '[REDACTED]', 'n': 3}
    """

    def __init__(
        self,
        patterns: Iterable[re.Pattern[str] | str] = DEFAULT_PATTERNS,
        *,
        extra: Iterable[re.Pattern[str] | str | Callable[[str], str]] = (),
        secret_keys: re.Pattern[str] | None = SECRET_KEY,
    ) -> None:
        self.patterns = [re.compile(p) if isinstance(p, str) else p for p in patterns]
        self.functions: list[Callable[[str], str]] = []
        self.secret_keys = secret_keys
        for item in extra:
            if isinstance(item, str | re.Pattern):
                self.patterns.append(re.compile(item) if isinstance(item, str) else item)
            elif callable(item):
                self.functions.append(item)
            else:
                raise TypeError(f"redactor {item!r} is neither a pattern nor a function str -> str")

    def redact_text(self, text: str) -> str:
        """Mask every secret in ``text``."""
        for pattern in self.patterns:
            text = pattern.sub(_masker(pattern), text)
        for fn in self.functions:
            text = fn(text)
        return text

    def redact_value(self, value: Any) -> Any:
        """Mask secrets in strings nested anywhere in JSON-like data (lists come back as lists).

        LangChain messages and trials found inside come back as redacted copies too, so a graph
        state update can be redacted whole before it is checkpointed.

        Example:
            >>> from langchain_core.messages import HumanMessage
            >>> out = Redactor().redact_value({"messages": [HumanMessage("pwd=hunter22")]})
            >>> out["messages"][0].content
            'pwd=[REDACTED]'
        """
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {k: self._redact_item(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(v) for v in value]
        if isinstance(value, BaseMessage):
            return self.redact_message(value)
        if isinstance(value, Trial):
            return self.redact_trial(value)
        return value

    def redact_message(self, message: BaseMessage) -> BaseMessage:
        """A copy of ``message`` with secrets masked in its content (text and content blocks),
        tool call arguments (values under secret-looking keys whole), ``additional_kwargs``
        and metadata; ids, names and tool call ids are kept.

        Example:
            >>> from langchain_core.messages import AIMessage
            >>> call = {"name": "login", "args": {"user": "bob", "password": "pw"}, "id": "c1"}
            >>> Redactor().redact_message(AIMessage("", tool_calls=[call])).tool_calls[0]["args"]
            {'user': 'bob', 'password': '[REDACTED]'}
        """
        record = message_to_dict(message)
        data = self.redact_value(record["data"])
        for key in ("id", "name", "tool_call_id"):  # identifiers, never secrets
            if key in record["data"]:
                data[key] = record["data"][key]
        return messages_from_dict([{"type": record["type"], "data": data}])[0]

    def redact_messages(self, messages: Iterable[BaseMessage]) -> list[BaseMessage]:
        """Redacted copies of ``messages`` (see `redact_message`), in order.

        Example:
            >>> from langchain_core.messages import HumanMessage, ToolMessage
            >>> msgs = [HumanMessage("use sk-abcdefghijklmnopqrstuvwx"),
            ...         ToolMessage("Authorization: Token s3cr3t-v4lue", tool_call_id="c1")]
            >>> [m.content for m in Redactor().redact_messages(msgs)]
            ['use [REDACTED]', 'Authorization: Token [REDACTED]']
        """
        return [self.redact_message(m) for m in messages]

    def _redact_item(self, key: Any, value: Any) -> Any:
        if (
            isinstance(value, str)
            and value
            and self.secret_keys is not None
            and isinstance(key, str)
            and self.secret_keys.match(key)
        ):
            return MASK
        return self.redact_value(value)

    def redact_trial(self, trial: Trial) -> Trial:
        """A copy of ``trial`` with secrets masked in every text field (ids are kept).

        Example:
            >>> t = Trial(trial_id="t/e000/t0", tools=["t"], episode=0, index=0,
            ...           query="log in with password=hunter22")
            >>> Redactor().redact_trial(t).query
            'log in with password=[REDACTED]'
        """
        data = self.redact_value(trial.to_dict())
        data["trial_id"], data["tools"] = trial.trial_id, list(trial.tools)
        return Trial.from_dict(data)


def _masker(pattern: re.Pattern[str]) -> Callable[[re.Match[str]], str]:
    if "secret" in pattern.groupindex:

        def mask_group(m: re.Match[str]) -> str:
            start, end = m.span("secret")
            if start < 0:
                return MASK
            whole = m.group(0)
            return whole[: start - m.start()] + MASK + whole[end - m.start() :]

        return mask_group
    if "key" in pattern.groupindex:  # older style: keep the ``key`` group, mask the rest
        return lambda m: (m.group("key") or "") + MASK
    return lambda m: MASK


_default_redactor: Redactor | None = None


def redact_text(text: str) -> str:
    """Mask secrets in ``text`` with the default `Redactor`.

    Example:
        >>> redact_text("key sk-abcdefghijklmnopqrstuvwx")
        'key [REDACTED]'
    """
    return _default().redact_text(text)


def redact_value(value: Any) -> Any:
    """Mask secrets in JSON-like data with the default `Redactor`.

    Example:
        >>> redact_value({"headers": {"Authorization": "Bearer abcdefghijklmnop"}})
        {'headers': {'Authorization': '[REDACTED]'}}
    """
    return _default().redact_value(value)


def redact_trial(trial: Trial) -> Trial:
    """A copy of ``trial`` with secrets masked by the default `Redactor`."""
    return _default().redact_trial(trial)


def redact_messages(messages: Iterable[BaseMessage]) -> list[BaseMessage]:
    """Redacted copies of LangChain messages, with the default `Redactor`.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> redact_messages([HumanMessage("redis://:hunter22@cache:6379")])[0].content
        'redis://:[REDACTED]@cache:6379'
    """
    return _default().redact_messages(messages)


def _default() -> Redactor:
    global _default_redactor
    if _default_redactor is None:
        _default_redactor = Redactor()
    return _default_redactor


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the message, its arguments and the traceback.

    It never drops a record. Install it on a logger (records logged there) or on a handler
    (records that reach it from any logger); `install_log_redaction` does the former for every
    ``langchain_ste`` logger.

    Example:
        >>> import io
        >>> stream = io.StringIO()
        >>> handler = logging.StreamHandler(stream)
        >>> handler.addFilter(RedactingFilter())
        >>> log = logging.getLogger("demo.redact")
        >>> log.addHandler(handler)
        >>> log.warning("calling with %s", "token=abcdef123456")
        >>> stream.getvalue()
        'calling with token=[REDACTED]\\n'
    """

    def __init__(self, redactor: Redactor | None = None, name: str = "") -> None:
        super().__init__(name)
        self.redactor = redactor or _default()

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; always keep it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw parts, redacted
            message = f"{record.msg} {record.args}"
        record.msg = self.redactor.redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact_text(record.stack_info)
        return True


def install_log_redaction(
    redactor: Redactor | None = None, logger_name: str = "langchain_ste"
) -> RedactingFilter:
    """Install a `RedactingFilter` on ``logger_name`` and every existing logger below it.

    Logger filters are not inherited, so the filter goes on each ``langchain_ste.*`` logger that
    exists when this is called (all of them once the modules in use are imported); calling it
    again adds it to new loggers and never twice to the same one.

    Example:
        >>> f = install_log_redaction()
        >>> f in logging.getLogger("langchain_ste").filters
        True
    """
    manager = logging.Logger.manager
    names = [logger_name] + [n for n in list(manager.loggerDict) if n.startswith(logger_name + ".")]
    installed: RedactingFilter | None = None
    for name in names:
        target = logging.getLogger(name)
        existing = next((f for f in target.filters if isinstance(f, RedactingFilter)), None)
        if existing is not None and redactor is None:
            installed = installed or existing
            continue
        if existing is not None:
            target.removeFilter(existing)
        installed = installed or RedactingFilter(redactor)
        target.addFilter(installed)
    assert installed is not None
    return installed
