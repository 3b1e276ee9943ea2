"""auditTrail and verifyAuditChain over HTTP: pages, filters, who may read them, reasons, hashes.

One study for the module: NJ02-003 is consented, screened and infused at NJ02 (positions 1–3),
then NJ01-007 walks the whole lifecycle at NJ01 (positions 4–19, with a correction and two AE
updates, each with its reason).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from domain.vocabulary import Role
from tests.e2e.conftest import RoleClient
from tests.e2e.documents import Shared, Story, enrol, error_code, shared_service, walk

pytestmark = pytest.mark.e2e

AUDIT_TRAIL = """
query($participantId: ID, $after: Int, $limit: Int) {
  auditTrail(participantId: $participantId, after: $after, limit: $limit) {
    nextAfter
    entries { position participantId version eventType recordedAt actor actorRole actorSite
      reason data hash previousHash }
  }
}"""
VERIFY = "{ verifyAuditChain { ok streamsChecked eventsChecked firstBrokenParticipantId"
VERIFY += " firstBrokenVersion } }"
EVENTS = 19
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Study:
    shared: Shared
    nj01: Story
    nj02: str

    def as_role(self, role: Role, site: str | None = None) -> RoleClient:
        return self.shared.client.as_role(role, site, sub="inspector-1")

    @property
    def auditor(self) -> RoleClient:
        return self.as_role(Role.AUDITOR)


@pytest.fixture(scope="module")
def study(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    with shared_service(database_url, tmp_path_factory.mktemp("audit-trail")) as shared:
        client = shared.client
        nj02 = enrol(client.as_role(Role.SITE_STAFF, "NJ02"), "NJ02-003", "NJ02")
        nj01 = walk(client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li"))
        yield Study(shared, nj01, nj02)


def trail(reader: RoleClient, **arguments: Any) -> dict[str, Any]:
    page: dict[str, Any] = reader.data(AUDIT_TRAIL, arguments)["auditTrail"]
    return page


def everything(reader: RoleClient, **arguments: Any) -> list[dict[str, Any]]:
    """Every entry the reader may see, page by page, following nextAfter."""
    entries: list[dict[str, Any]] = []
    after = None
    while True:
        page = trail(reader, after=after, **arguments)
        entries += page["entries"]
        after = page["nextAfter"]
        if after is None:
            return entries


# ----- pages and filters -----


def test_auditor_pages_through_every_event_in_position_order_when_following_next_after(
    study: Study,
) -> None:
    first = trail(study.auditor, limit=7)

    second = trail(study.auditor, after=first["nextAfter"], limit=7)
    rest = trail(study.auditor, after=second["nextAfter"], limit=7)

    assert [len(page["entries"]) for page in (first, second, rest)] == [7, 7, 5]
    assert first["nextAfter"] == first["entries"][-1]["position"]
    assert second["nextAfter"] == second["entries"][-1]["position"]
    assert rest["nextAfter"] is None
    positions = [e["position"] for page in (first, second, rest) for e in page["entries"]]
    assert positions == sorted(positions)
    assert len(set(positions)) == EVENTS


def test_next_after_is_null_when_the_page_holds_exactly_the_last_events(study: Study) -> None:
    page = trail(study.auditor, limit=EVENTS)

    assert len(page["entries"]) == EVENTS
    assert page["nextAfter"] is None


def test_trail_lists_only_one_participant_when_filtered_by_participant(study: Study) -> None:
    entries = everything(study.auditor, participantId=study.nj02, limit=2)

    assert [(e["participantId"], e["version"]) for e in entries] == [
        (study.nj02, 1),
        (study.nj02, 2),
        (study.nj02, 3),
    ]
    assert [e["eventType"] for e in entries] == ["Consented", "Screened", "Infused"]
    assert {(e["actorRole"], e["actorSite"]) for e in entries} == {("SITE_STAFF", "NJ02")}


def test_entries_say_who_recorded_what_and_when_with_the_payload_when_read_by_an_auditor(
    study: Study,
) -> None:
    entries = everything(study.auditor, participantId=study.nj01.pid)

    for (step, result, _), entry in zip(study.nj01.taken, entries, strict=True):
        assert (entry["position"], entry["version"]) == (result["position"], result["version"])
        assert datetime.fromisoformat(entry["recordedAt"]) == datetime.fromisoformat(
            result["recordedAt"]
        ), step
        assert (entry["actor"], entry["actorRole"], entry["actorSite"]) == (
            "nurse-li",
            "SITE_STAFF",
            "NJ01",
        )
    consent = entries[0]["data"]["consent"]
    assert (consent["date_of_birth"], consent["initials"]) == ("1988-04-17", "LMW")
    assert entries[2]["data"]["infusion"]["lot"] == "CHT101-L0042"


def test_corrections_and_ae_updates_carry_their_reasons_when_listed(study: Study) -> None:
    entries = everything(study.auditor, participantId=study.nj01.pid)

    reasons = {
        (e["eventType"], e["reason"]) for e in entries if e["reason"] is not None
    }  # fmt: skip

    assert reasons == {
        ("VisitCorrected", "PGA transcribed as 0.6; the source record says 0.3"),
        ("AdverseEventUpdated", "resolved after tocilizumab; sponsor notified by phone"),
        ("AdverseEventUpdated", "ICANS resolved; found at the close-out visit"),
    }
    corrected = next(e for e in entries if e["eventType"] == "VisitCorrected")
    assert corrected["data"]["visit"] == "M2"
    assert corrected["data"]["reason"] == corrected["reason"]


def test_each_entry_chains_to_the_one_before_it_in_its_stream_when_listed(study: Study) -> None:
    entries = everything(study.auditor, limit=5)

    last_hash: dict[str, str] = {}
    for entry in entries:
        assert SHA256_HEX.fullmatch(entry["hash"])
        assert entry["previousHash"] == last_hash.get(entry["participantId"])
        last_hash[entry["participantId"]] = entry["hash"]
    assert len(last_hash) == 2


# ----- who may read it -----

READERS = {
    "AUDITOR": (Role.AUDITOR, None, "all"),
    "MONITOR NJ01": (Role.MONITOR, "NJ01", "NJ01"),
    "MONITOR NJ02": (Role.MONITOR, "NJ02", "NJ02"),
    "MONITOR without a site": (Role.MONITOR, None, "all"),
    "SITE_STAFF NJ01": (Role.SITE_STAFF, "NJ01", None),
    "INVESTIGATOR NJ01": (Role.INVESTIGATOR, "NJ01", None),
    "SPONSOR": (Role.SPONSOR, None, None),
    "SAFETY_REVIEWER": (Role.SAFETY_REVIEWER, None, None),
}


@pytest.mark.parametrize(("role", "site", "sees"), READERS.values(), ids=list(READERS))
def test_trail_shows_the_readers_sites_or_is_forbidden_when_read_by_each_role(
    study: Study, role: Role, site: str | None, sees: str | None
) -> None:
    reader = study.as_role(role, site)

    body = reader.post(AUDIT_TRAIL, {"limit": 100})

    if sees is None:
        assert error_code(body) == "FORBIDDEN"
        assert body["data"] is None
        return
    participants = {e["participantId"] for e in body["data"]["auditTrail"]["entries"]}
    expected = {"all": {study.nj01.pid, study.nj02}, "NJ01": {study.nj01.pid}}
    assert participants == expected.get(sees, {study.nj02})


def test_monitor_is_forbidden_when_filtering_by_a_participant_of_another_site(
    study: Study,
) -> None:
    body = study.as_role(Role.MONITOR, "NJ01").post(AUDIT_TRAIL, {"participantId": study.nj02})

    assert error_code(body) == "FORBIDDEN"


def test_trail_refuses_with_bad_input_when_the_limit_or_cursor_is_out_of_range(
    study: Study,
) -> None:
    codes = [
        error_code(study.auditor.post(AUDIT_TRAIL, arguments))
        for arguments in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"participantId": "x"})
    ]

    assert codes == ["BAD_INPUT"] * 4


def test_trail_refuses_an_anonymous_caller_when_no_token_is_sent(study: Study) -> None:
    body = study.shared.client.post(AUDIT_TRAIL, {})

    assert error_code(body) == "UNAUTHENTICATED"


# ----- verification -----


def test_chain_verification_reports_every_stream_intact_when_asked_by_an_auditor(
    study: Study,
) -> None:
    result = study.auditor.data(VERIFY)["verifyAuditChain"]

    assert result == {
        "ok": True,
        "streamsChecked": 2,
        "eventsChecked": EVENTS,
        "firstBrokenParticipantId": None,
        "firstBrokenVersion": None,
    }


NOT_AUDITORS = {
    "MONITOR NJ01": (Role.MONITOR, "NJ01"),
    "MONITOR without a site": (Role.MONITOR, None),
    "SITE_STAFF NJ01": (Role.SITE_STAFF, "NJ01"),
    "INVESTIGATOR NJ01": (Role.INVESTIGATOR, "NJ01"),
    "SPONSOR": (Role.SPONSOR, None),
    "SAFETY_REVIEWER": (Role.SAFETY_REVIEWER, None),
}


@pytest.mark.parametrize(("role", "site"), NOT_AUDITORS.values(), ids=list(NOT_AUDITORS))
def test_chain_verification_is_forbidden_when_asked_by_anyone_but_an_auditor(
    study: Study, role: Role, site: str | None
) -> None:
    body = study.as_role(role, site).post(VERIFY)

    assert error_code(body) == "FORBIDDEN"
