"""Writing XML text fast and safely: escaping, and elements written as strings.

An export writes millions of elements; building element trees would cost more than deriving the
values. Every attribute value and text goes through ``attr`` or ``text``, which escape markup and
replace the few characters XML 1.0 cannot carry at all (control characters) with U+FFFD.
"""

from __future__ import annotations

import re

_MARKUP = re.compile('[&<>"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')
_REPLACE = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def _escape(match: re.Match[str]) -> str:
    return _REPLACE.get(match.group(), "\ufffd")


def text(value: str) -> str:
    """``value`` as element content."""
    return _MARKUP.sub(_escape, value) if _MARKUP.search(value) else value


def attr(value: str) -> str:
    """``value`` as a double-quoted attribute value (quotes included)."""
    if _MARKUP.search(value) is None:  # nearly always: one call instead of two
        return f'"{value}"'
    return f'"{_MARKUP.sub(_escape, value)}"'


def element(name: str, content: str | None = None, **attributes: str | None) -> str:
    """``<name a="…">content</name>``, or an empty element when there is no content; attributes
    whose value is None are left out."""
    written = "".join(
        f" {key}={attr(value)}" for key, value in attributes.items() if value is not None
    )
    if content is None:
        return f"<{name}{written}/>"
    return f"<{name}{written}>{content}</{name}>"
