"""The study both CDISC export suites read: three participants recorded over GraphQL, and a
client that downloads exports as any role.

NJ01-007 lives its whole year (``walk``: every visit, a correction, two AEs, a withdrawal).
NJ02-101 fails screening, is re-screened eligible, has an AE before its infusion, and has M1 and
BASELINE corrected (values cleared to null, a data query resolved, an outcome changed); its AE
terms and a reason carry markup characters, line breaks and a tab. NJ01-120 only consents.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from domain.vocabulary import Role
from tests.e2e.conftest import RoleClient
from tests.e2e.documents import (
    CONSENT,
    CORRECT,
    INFUSE,
    REPORT_AE,
    SCORE,
    SCREEN,
    UPDATE_AE,
    Shared,
    Story,
    ae_input,
    ae_update_input,
    baseline_input,
    consent_input,
    correction_input,
    infusion_input,
    screening_input,
    shared_service,
    visit_input,
    walk,
)

EVENTS = 16 + 11 + 1  # NJ01-007, NJ02-101, NJ01-120
READ_LOG = """query($after: Int) { readAccessLog(after: $after, limit: 1000) {
  nextAfter entries { actor actorRole operation participantIds detail } } }"""
MARKUP_TERM = 'Febrile neutropenia <"grade 4"> & sepsis'
# Free text with the whitespace an XML parser would normalise if it were written raw.
MULTILINE_TERM = "Urinary tract infection\n(E. coli,\tcystitis)"
MULTILINE_REASON = "activity was the screening's,\r\nnot this visit's"


@dataclass(frozen=True)
class Study:
    shared: Shared
    seven: Story
    second: str  # NJ02-101's participant id
    consented_only: str  # NJ01-120's

    @property
    def base(self) -> str:
        return self.shared.client.url.removesuffix("/graphql")

    def client(self, role: Role, site: str | None = None) -> RoleClient:
        return self.shared.client.as_role(role, site, sub=f"{role.value.lower()}-reader")

    def logged(self, operation: str) -> list[dict[str, Any]]:
        """The read-access log's rows of ``operation``, oldest first (read as an AUDITOR)."""
        rows: list[dict[str, Any]] = []
        after = None
        while True:
            page = self.client(Role.AUDITOR).data(READ_LOG, {"after": after})["readAccessLog"]
            rows += [row for row in page["entries"] if row["operation"] == operation]
            if page["nextAfter"] is None:
                return rows
            after = page["nextAfter"]

    def get(self, path: str, role: Role, site: str | None = None, **params: str) -> httpx.Response:
        """GET ``path`` (e.g. /export/odm) with ``role``'s token."""
        token = self.client(role, site).token
        return httpx.get(self.base + path, params=params,
                         headers={"Authorization": f"Bearer {token}"}, timeout=60)  # fmt: skip


def record_second(staff: RoleClient) -> str:
    """NJ02-101: screen failed, re-screened eligible, an AE before the infusion (its days from
    infusion appear with the infusion), BASELINE; M1 scored with a proteinuria descriptor its
    UPCR contradicts, then corrected: descriptor and UPCR gone, eGFR computed from creatinine,
    damage not assessed, joint count cleared; then BASELINE corrected to no activity, which
    turns M1's SRI-4 from responder to non-responder. AE-009, grade 4 without a serious
    criterion, becomes life-threatening."""
    consent = consent_input("NJ02-101", "NJ02", initials="QZX", dateOfBirth="1979-11-23")
    pid: str = staff.data(CONSENT, {"input": consent})["consent"]["participantId"]
    staff.data(SCREEN, {"input": screening_input(pid, screenedOn="2025-06-05", refractory=False)})
    staff.data(SCREEN, {"input": screening_input(pid)})
    staff.data(REPORT_AE, {"input": ae_input(pid, "AE-008", category="INFECTION", crs=None,
                                             term=MULTILINE_TERM,
                                             onsetOn="2025-06-12",
                                             awareAt="2025-06-12T09:00:00Z")})  # fmt: skip
    staff.data(INFUSE, {"input": infusion_input(pid)})
    staff.data(SCORE, {"input": baseline_input(pid)})
    m1 = {"sledai": ["PROTEINURIA"], "upcrGPerG": 0.3, "arthritisJointCount": 1,
          "sdiItems": ["CATARACT"]}  # fmt: skip
    staff.data(SCORE, {"input": visit_input(pid, "M1", **m1)})
    staff.data(CORRECT, {"input": correction_input(
        pid, "M1", "descriptor ticked in error; UPCR was the screening value",
        upcrGPerG=None, egfr=None, creatinineMgDl=0.9, sdiItems=None)})  # fmt: skip
    quiet = correction_input(pid, "BASELINE", MULTILINE_REASON)
    staff.data(CORRECT, {"input": quiet})
    staff.data(REPORT_AE, {"input": ae_input(pid, "AE-009", ctcaeGrade=4, category="OTHER",
                                             crs=None, term=MARKUP_TERM)})  # fmt: skip
    staff.data(
        UPDATE_AE,
        {
            "input": ae_update_input(
                pid, "AE-009", serious=["LIFE_THREATENING"], reason="serious criterion omitted"
            )
        },
    )
    return pid


@contextmanager
def record_study(database_url: str, data_dir: Path) -> Iterator[Study]:
    """The three participants, recorded on a service of their own, served until the block ends."""
    with shared_service(database_url, data_dir) as shared:
        seven = walk(shared.client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse.li"))
        second = record_second(shared.client.as_role(Role.INVESTIGATOR, "NJ02", sub="dr.zhou"))
        only = shared.client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse.li").data(
            CONSENT, {"input": consent_input("NJ01-120")}
        )["consent"]["participantId"]
        yield Study(shared, seven, second, only)
