"""Masking secrets before anything is written to trials, memory, datasets or logs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from langchain_ste.trial import Trial

MASK = "[REDACTED]"

DEFAULT_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"),  # OpenAI-style keys
    re.compile(r"\b(?:ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{20,}"),  # GitHub tokens
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]{12,}=*"),
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password in URLs
    re.compile(
        r"(?i)(?P<key>[\"']?(?:api[_-]?key|secret|password|passwd|token)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"',}]{6,}"
    ),
)


class Redactor:
    """Replaces secret-looking substrings with ``[REDACTED]``.

    Args:
        patterns: regular expressions whose matches are masked (the defaults cover API keys,
            bearer tokens, passwords in URLs and ``password=...`` style assignments).
        extra: more patterns, or functions ``str -> str`` supplied by the user.

    Example:
        >>> Redactor().redact_text("curl -H 'Authorization: Bearer abcdefghijklmnop1234'")
        "curl -H 'Authorization: [REDACTED]'"
    """

    def __init__(
        self,
        patterns: Iterable[re.Pattern[str] | str] = DEFAULT_PATTERNS,
        *,
        extra: Iterable[re.Pattern[str] | str | Callable[[str], str]] = (),
    ) -> None:
        self.patterns = [re.compile(p) if isinstance(p, str) else p for p in patterns]
        self.functions: list[Callable[[str], str]] = []
        for item in extra:
            if callable(item) and not isinstance(item, re.Pattern):
                self.functions.append(item)
            else:
                self.patterns.append(re.compile(item) if isinstance(item, str) else item)

    def redact_text(self, text: str) -> str:
        """Mask every secret in ``text``."""
        for pattern in self.patterns:
            keep = "key" in pattern.groupindex
            text = pattern.sub(lambda m, keep=keep: (m.group("key") if keep else "") + MASK, text)
        for fn in self.functions:
            text = fn(text)
        return text

    def redact_value(self, value: Any) -> Any:
        """Mask secrets in strings nested anywhere in JSON-like data."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {k: self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(v) for v in value]
        return value

    def redact_trial(self, trial: Trial) -> Trial:
        """A copy of ``trial`` with secrets masked in every text field."""
        data = self.redact_value(trial.to_dict())
        return Trial.from_dict(data)
