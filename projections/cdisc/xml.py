"""Writing XML text fast and safely: escaping, and elements written as strings.

An export writes millions of elements; building element trees would cost more than deriving the
values. Every attribute value goes through ``attr`` (or ``quoted``) and all element content
through ``text``: they escape markup, write the whitespace a parser would otherwise normalise
(line breaks and tabs in an attribute, carriage returns anywhere) as character references, and
replace the few characters XML 1.0 cannot carry at all (other control characters) with U+FFFD.
"""

from __future__ import annotations

import re

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
_IN_TEXT = re.compile(f"[&<>\r{_CONTROL}]")
_IN_ATTRIBUTE = re.compile(f'[&<>"\t\n\r{_CONTROL}]')
_REPLACE = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;",
            "\r": "&#13;"}  # fmt: skip


def _escape(match: re.Match[str]) -> str:
    return _REPLACE.get(match.group(), "\ufffd")


def text(value: str) -> str:
    """``value`` as element content."""
    return _IN_TEXT.sub(_escape, value) if _IN_TEXT.search(value) else value


def quoted(value: str) -> str:
    """``value`` escaped to stand between an attribute's double quotes."""
    return _IN_ATTRIBUTE.sub(_escape, value) if _IN_ATTRIBUTE.search(value) else value


def attr(value: str) -> str:
    """``value`` as a double-quoted attribute value (quotes included)."""
    return f'"{quoted(value)}"'


def element(name: str, content: str | None = None, **attributes: str | None) -> str:
    """``<name a="…">content</name>``, or an empty element when there is no content; attributes
    whose value is None are left out."""
    written = "".join(
        f" {key}={attr(value)}" for key, value in attributes.items() if value is not None
    )
    if content is None:
        return f"<{name}{written}/>"
    return f"<{name}{written}>{content}</{name}>"
