"""The console's files as shipped: the vendored client is the one its README names, the page's
code builds the DOM from text only, and nothing in it points at another host."""

from __future__ import annotations

import hashlib
import re

from api.console import STATIC, served_files

VENDOR = STATIC / "vendor"
SCRIPT = (STATIC / "console.js").read_text()


def test_the_vendored_graphql_ws_client_has_the_sha256_its_readme_states() -> None:
    readme = (VENDOR / "README.md").read_text()
    [stated] = re.findall(r"`graphql-ws\.min\.js` sha256 \| `([0-9a-f]{64})`", readme)
    actual = hashlib.sha256((VENDOR / "graphql-ws.min.js").read_bytes()).hexdigest()
    assert actual == stated
    assert "MIT License" in (VENDOR / "graphql-ws.LICENSE.md").read_text()


def test_the_page_builds_its_dom_with_text_only() -> None:
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "DOMParser", "createContextualFragment"):  # fmt: skip
        assert sink not in SCRIPT, sink
    assert "textContent" in SCRIPT


def test_the_token_goes_to_storage_and_headers_never_to_a_url() -> None:
    assert "sessionStorage.setItem(TOKEN_KEY, token)" in SCRIPT
    assert "localStorage" not in SCRIPT
    assert re.search(r"Authorization: `Bearer \$\{state\.token\}`", SCRIPT)
    # URLs the page builds: the GraphQL endpoint of this origin, and the view's #fragment.
    for built in re.findall(r"url: `([^`]*)`", SCRIPT):
        assert "token" not in built.lower()
    assert "?token" not in SCRIPT and "&token" not in SCRIPT


def test_no_file_the_console_serves_names_another_host() -> None:
    namespace = "http://www.w3.org/2000/svg"  # an XML namespace name, never fetched
    for name, path in served_files().items():
        if name.startswith("vendor/"):
            continue  # the library's own text; the browser tests route every request it makes
        text = path.read_text().replace(namespace, "")
        assert not re.search(r"(?:https?:|wss?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), name


def test_every_file_the_page_loads_is_served() -> None:
    page = (STATIC / "index.html").read_text()
    loaded = re.findall(r'(?:src|href)="/console/([^"]+)"', page)
    assert loaded and set(loaded) <= set(served_files())
