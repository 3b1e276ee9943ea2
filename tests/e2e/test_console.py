"""The reviewers' console (/console) in a real headless Chromium against the real service.

Every request the page makes is routed through the test and must go to 127.0.0.1; the page is
driven as a reviewer would drive it (paste a token, click a tab, move the slider with the
keyboard) and checked by what it shows. Data is written over HTTP as site staff would.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.auth import issue_token
from domain.vocabulary import Role
from infra.bootstrap import Service
from infra.demo import record_demo_study
from tests.e2e.conftest import GraphQLClient, RunningServer
from tests.e2e.documents import (
    CORRECT,
    REPORT_AE,
    SCORE,
    ae_input,
    baseline_input,
    correction_input,
    enrol,
    visit_input,
)

pytestmark = pytest.mark.e2e

playwright_api = pytest.importorskip("playwright.sync_api")

TRAIL = "query($id: ID) { auditTrail(participantId: $id, limit: 1000) { entries { position } } }"
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
LIVE_S = 10.0  # the page connects well within this
PUSH_S = 5.0  # the issue's bound for a change to appear on the page


def browser_executable() -> str | None:
    """TRIAL_BROWSER, else the first Chromium on PATH (.ci/run installs one when missing)."""
    explicit = os.environ.get("TRIAL_BROWSER")
    if explicit:
        return explicit
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = browser_executable()
    if executable is None:
        pytest.skip(
            "no Chromium found (TRIAL_BROWSER or one of "
            f"{', '.join(BROWSERS)} on PATH): apt-get install chromium-headless-shell"
        )
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@dataclass
class Traffic:
    """Every URL the page asked for, HTTP and WebSocket."""

    requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)

    def hosts(self) -> set[str]:
        return {urlsplit(url).hostname or url for url in self.requests + self.websockets}


@dataclass
class Console:
    """A browser tab on the console of one server."""

    page: Any
    server: RunningServer
    traffic: Traffic
    pushes: list[str] = field(default_factory=list)  # ids of the ledger pushes received

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/console"

    def sign_in(self, token: str) -> None:
        self.page.goto(self.url)
        self.page.fill("#token", token)
        self.page.click("#token-form button[type=submit]")

    def wait_live(self) -> None:
        self.page.wait_for_selector('#connection[data-state="live"]', timeout=LIVE_S * 1000)

    def connection(self) -> str:
        return str(self.page.text_content("#connection"))


@pytest.fixture
def console(browser: Any, server: RunningServer) -> Iterator[Console]:
    context = browser.new_context()
    traffic = Traffic()

    def route(request_route: Any) -> None:
        url = request_route.request.url
        traffic.requests.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            request_route.continue_()
        else:
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    tab = Console(page, server, traffic)

    def watch(socket: Any) -> None:
        traffic.websockets.append(socket.url)

        def frame(payload: str | bytes) -> None:
            text = payload if isinstance(payload, str) else payload.decode()
            if '"type":"next"' in text.replace(" ", "") and "safetyLedgerChanged" in text:
                tab.pushes.append(text)

        socket.on("framereceived", frame)

    page.on("websocket", watch)
    yield tab
    context.close()
    # No request of any test left this machine.
    assert traffic.requests, "the page made no request"
    assert traffic.hosts() == {"127.0.0.1"}, traffic.hosts()


def token(client: GraphQLClient, role: Role, site: str | None = None, sub: str = "") -> str:
    return issue_token(
        client.secret, role, subject=sub or f"{role.value.lower()}.console", site=site
    )


def test_console_is_static_files_under_a_same_origin_policy(server: RunningServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    page = httpx.get(f"{base}/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    # No inline script, style or handler: all of it would be refused under that policy.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert not re.search(r"\sstyle=|\son[a-z]+=|<style", page.text)
    for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert src.startswith("/console/"), src
        asset = httpx.get(f"{base}{src}")
        assert asset.status_code == 200, src
        assert "default-src 'self'" in asset.headers["content-security-policy"]
    # Dot segments encoded, so that they reach the route as the client sent them.
    for escape in ("..%2Fconsole.py", "..%2F..%2Fconsole.py", "%2E%2E/%2E%2E/app.py"):
        assert httpx.get(f"{base}/console/{escape}").status_code == 404, escape
    assert httpx.get(f"{base}/console/missing.js").status_code == 404


def test_page_goes_live_and_shows_a_new_sae_and_the_overdue_count_within_5_s(
    console: Console, client: GraphQLClient, service: Service
) -> None:
    staff = client.as_role(Role.SITE_STAFF)
    pid = enrol(staff)
    reviewer = token(client, Role.SAFETY_REVIEWER)
    console.sign_in(reviewer)
    console.wait_live()
    page = console.page
    assert page.text_content('[data-total="overdueSaeReports"] dd') == "0"

    # An SAE the site learnt of on 21 June 2025, never reported to the sponsor: overdue at once.
    sae = ae_input(pid, "AE-101", serious=["HOSPITALISATION"])
    staff.data(REPORT_AE, {"input": sae})

    row = page.wait_for_selector(f'#ledger tr[data-key="{pid}/AE-101"]', timeout=PUSH_S * 1000)
    page.wait_for_function(
        """() => document.querySelector('[data-total="overdueSaeReports"] dd')
                   .textContent === "1" """,
        timeout=PUSH_S * 1000,
    )
    assert "changed" in str(row.get_attribute("class"))  # the arriving change is highlighted
    clock = row.query_selector("td.clock")
    assert "overdue" in str(clock.get_attribute("class"))
    assert str(clock.text_content()).startswith("OVERDUE by")
    assert "HOSPITALISATION" in str(row.text_content())
    assert console.connection() == "live"
    assert_pushes_logged(console, service, "safety_reviewer.console")


def test_a_site_role_sees_its_own_site_and_no_pii_reaches_a_sponsor(
    console: Console, client: GraphQLClient
) -> None:
    staff = client.as_role(Role.SITE_STAFF)
    pid = enrol(staff)
    staff.data(REPORT_AE, {"input": ae_input(pid, "AE-102", serious=["HOSPITALISATION"])})
    other_site = token(client, Role.SITE_STAFF, site="NJ02")
    console.sign_in(other_site)
    console.wait_live()
    console.page.wait_for_selector("#safety .empty:not([hidden])")
    assert console.page.query_selector_all("#ledger tbody tr") == []

    console.page.evaluate("sessionStorage.clear()")
    console.sign_in(token(client, Role.SPONSOR))
    console.wait_live()
    console.page.wait_for_selector(f'#ledger tr[data-key="{pid}/AE-102"]')
    console.page.click('#tabs [data-view="study"]')
    console.page.wait_for_selector('#funnel [data-stage="infused"]')
    shown = str(console.page.text_content("body"))
    assert "NJ01-007" in shown  # the subject id, which a sponsor may see
    for pii in ("1988-04-17", "LMW"):  # date of birth and initials of consent_input()
        assert pii not in shown
    assert console.page.is_hidden('#tabs [data-view="audit"]')


def test_a_bad_token_is_refused_and_the_page_says_why(
    console: Console, client: GraphQLClient
) -> None:
    forged = issue_token(
        "not-the-secret-of-this-service-at-all", Role.AUDITOR, subject="mallory", site=None
    )
    console.sign_in(forged)
    console.page.wait_for_selector('#connection[data-state="refused"]', timeout=LIVE_S * 1000)
    console.page.wait_for_function(
        "() => document.querySelector('#connection').textContent.includes('UNAUTHENTICATED')",
        timeout=LIVE_S * 1000,
    )
    assert console.pushes == []


def test_time_slider_shows_the_value_recorded_before_a_correction(
    console: Console, client: GraphQLClient, service: Service
) -> None:
    staff = client.as_role(Role.SITE_STAFF)
    pid = enrol(staff)
    staff.data(SCORE, {"input": baseline_input(pid)})
    staff.data(SCORE, {"input": visit_input(pid, "M1", pgaScore=0.6)})
    reason = "source document: PGA was 0.3"
    staff.data(CORRECT, {"input": correction_input(pid, "M1", reason, pgaScore=0.3)})

    console.sign_in(token(client, Role.AUDITOR))
    console.wait_live()
    page = console.page
    page.click('#tabs [data-view="audit"]')
    page.wait_for_selector(f'#participant option[value="{pid}"]', state="attached")
    page.select_option("#participant", pid)
    page.wait_for_selector('#timeline li:has-text("VisitCorrected")')
    m1_pga = '#as-of-participant tr[data-visit="M1"] td.pga'
    page.wait_for_function(f"() => document.querySelector('{m1_pga}')?.textContent === '0.3'")
    correction = page.locator('#timeline > li:has-text("VisitCorrected")')
    assert reason in str(correction.text_content())
    changed = correction.locator("details li").all_text_contents()
    # The stored payload's PGA, in tenths or as entered: 0.6 became 0.3.
    pga = re.compile(r"pga\w*: (0\.6 → 0\.3|6 → 3)$", re.IGNORECASE)
    assert [line for line in changed if pga.search(line)], changed

    page.focus("#slider")
    page.keyboard.press("ArrowLeft")  # one entry back: M1 as first scored
    page.wait_for_function(f"() => document.querySelector('{m1_pga}')?.textContent === '0.6'")
    assert "VisitScored" in str(page.text_content("#slider-at"))
    page.keyboard.press("End")
    page.wait_for_function(f"() => document.querySelector('{m1_pga}')?.textContent === '0.3'")
    page.wait_for_selector('#chain[data-state="ok"]')

    logged = {row.operation for row in service.access_log.page() if row.actor == "auditor.console"}
    assert {"auditTrail", "participant", "participants"} <= logged


def test_after_a_server_restart_the_page_reconnects_and_shows_the_next_push(
    console: Console, client: GraphQLClient, service: Service
) -> None:
    staff = client.as_role(Role.SITE_STAFF)
    pid = enrol(staff)
    console.sign_in(token(client, Role.SAFETY_REVIEWER))
    console.wait_live()

    console.server.stop()
    console.page.wait_for_selector('#connection[data-state="reconnecting"]', timeout=LIVE_S * 1000)
    restarted = RunningServer(service, port=console.server.port)
    restarted.start()
    try:
        console.wait_live()
        with httpx.Client(timeout=30) as http:
            again = GraphQLClient(restarted.url, client.secret, http).as_role(Role.SITE_STAFF)
            again.data(REPORT_AE, {"input": ae_input(pid, "AE-103", serious=["HOSPITALISATION"])})
        console.page.wait_for_selector(
            f'#ledger tr[data-key="{pid}/AE-103"]', timeout=PUSH_S * 1000
        )
        assert_pushes_logged(console, service, "safety_reviewer.console")
    finally:
        restarted.stop()


def assert_pushes_logged(console: Console, service: Service, actor: str) -> None:
    """Each ledger push the page received was appended to the read-access log first."""
    assert console.pushes, "the page received no push"
    logged = [
        row
        for row in service.access_log.page(limit=1000)
        if row.actor == actor and row.operation == "safetyLedgerChanged"
    ]
    assert len(logged) == len(console.pushes)


@pytest.mark.parametrize("view", ["safety", "study", "audit"])
def test_each_view_shows_the_whole_demo_study(
    view: str, browser: Any, server: RunningServer, client: GraphQLClient, service: Service,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Also the README's pictures: TRIAL_CONSOLE_SCREENSHOTS=docs/console pytest -k demo_study."""
    record_demo_study(service.app)
    auditor = client.as_role(Role.AUDITOR, site=None, sub="auditor.demo")
    ledger = auditor.data("{ safetyLedger { entries { event { aeId } } } }")["safetyLedger"]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        tab = Console(page, server, Traffic())
        tab.sign_in(auditor.token)
        tab.wait_live()
        page.click(f'#tabs [data-view="{view}"]')
        if view == "safety":
            page.wait_for_selector("#ledger tbody tr")
            assert len(page.query_selector_all("#ledger tbody tr")) == len(ledger["entries"])
        elif view == "study":
            page.wait_for_selector('#endpoints svg[data-endpoint="SRI4"] circle')
            assert page.text_content('#funnel [data-stage="consented"] text.value') == "17"
            assert page.text_content('#funnel [data-stage="infused"] text.value') == "15"
        else:
            page.wait_for_selector("#participant option:nth-child(2)", state="attached")
            chosen = page.eval_on_selector("#participant", "s => s.options[2].value")
            page.select_option("#participant", chosen)
            page.wait_for_selector("#as-of-participant tr[data-visit]")
            trail = auditor.data(TRAIL, {"id": chosen})["auditTrail"]["entries"]
            assert len(page.query_selector_all("#timeline > li")) == len(trail)
            page.focus("#slider")
            for _ in range(4):
                page.keyboard.press("ArrowLeft")
            page.wait_for_selector("#timeline li.future")
        saving = os.environ.get("TRIAL_CONSOLE_SCREENSHOTS")
        if saving:
            page.wait_for_timeout(4500)  # let the arrival highlight fade
        out = Path(saving or tmp_path) / f"{view}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        context.close()
