"""GET /export/odm over HTTP: a CDISC ODM 1.3.2 file of the whole history (or a snapshot) that
validates against the official schema, carries the audit trail one for one, replays to every
participant(atVersion: n), equals participant(asOf: T), and keeps the access rules of every read.

The study is tests/e2e/cdisc_story.py's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from domain.vocabulary import Role
from tests.e2e import odm_inputs as inputs
from tests.e2e.cdisc_story import EVENTS, Study, record_study
from tests.e2e.documents import PARTICIPANT, consent_input, lifecycle
from tests.e2e.odm_files import (
    OdmFile,
    from_graphql,
    participant_fields,
    replay,
    validation_errors,
)

pytestmark = pytest.mark.e2e

AUDIT_TRAIL = """
query($after: Int) { auditTrail(after: $after, limit: 1000) {
  nextAfter entries { position participantId version eventType recordedAt actor reason } } }"""


def odm(study: Study, role: Role = Role.AUDITOR, site: str | None = None, **params: str) -> OdmFile:
    response = study.get("/export/odm", role, site, **params)
    assert response.status_code == 200, response.text
    return OdmFile(response.content)


@pytest.fixture(scope="module")
def study(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    with record_study(database_url, tmp_path_factory.mktemp("odm")) as recorded:
        yield recorded


@pytest.fixture(scope="module")
def transactions_file(study: Study) -> OdmFile:
    return odm(study)


def audit_trail(study: Study) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    after = None
    while True:
        page = study.client(Role.AUDITOR).data(AUDIT_TRAIL, {"after": after})["auditTrail"]
        entries += page["entries"]
        if page["nextAfter"] is None:
            return entries
        after = page["nextAfter"]


def test_odm_export_validates_against_the_odm_1_3_2_schema_with_two_validators(
    study: Study, transactions_file: OdmFile
) -> None:
    snapshot = odm(study, snapshot="true")

    for document in (transactions_file, snapshot):
        assert validation_errors(document.content) == ([], [])
    assert (transactions_file.file_type, snapshot.file_type) == ("Transactional", "Snapshot")
    assert transactions_file.root.get("ODMVersion") == "1.3.2"


@pytest.mark.parametrize(
    "pattern",
    [r' SubjectKey="[^"]*"', r' ItemOID="[^"]*"', r' FileOID="[^"]*"', r' OID="USR\.[^"]*"'],
    ids=["SubjectKey", "ItemOID", "FileOID", "User OID"],
)
def test_odm_validation_fails_when_one_required_attribute_is_removed(
    transactions_file: OdmFile, pattern: str
) -> None:
    broken = re.sub(pattern, "", transactions_file.content.decode(), count=1).encode()

    by_lxml, by_xmlschema = validation_errors(broken)

    assert broken != transactions_file.content
    assert by_lxml and by_xmlschema


def test_odm_transactions_match_the_audit_trail_one_for_one(
    study: Study, transactions_file: OdmFile
) -> None:
    trail = audit_trail(study)
    users = transactions_file.users()

    transactions = sorted(transactions_file.transactions(), key=lambda tx: tx.audit.source)

    assert len(transactions) == len(trail) == EVENTS
    for tx, entry in zip(transactions, trail, strict=True):
        assert tx.audit.source == entry["position"]
        assert tx.audit.at == datetime.fromisoformat(entry["recordedAt"])
        assert users[tx.audit.user] == entry["actor"]
        assert tx.audit.reason == entry["reason"]
        assert all(item == tx.audit for item in tx.item_audits)
    assert sum(len(tx.item_audits) for tx in transactions) > len(transactions)


def test_odm_transaction_types_say_first_value_update_cleared_and_removed(
    study: Study, transactions_file: OdmFile
) -> None:
    second = [tx for tx in transactions_file.transactions() if tx.subject == "NJ02-101"]
    correction = next(
        tx for tx in second if tx.audit.reason and "ticked in error" in tx.audit.reason
    )

    changed = {
        (group[0], item): (tx, value) for _, _, group, _, item, tx, value in correction.changes
    }
    removed = [group for _, _, group, group_tx, *_ in correction.changes if group_tx == "Remove"]

    assert second[0].kind == "Insert" and {tx.kind for tx in second[1:]} == {"Context"}
    assert changed["IG.VISIT", "IT.VISIT.UPCR"] == ("Update", None)  # IsNull
    assert changed["IG.VISIT", "IT.VISIT.ARTHRITIS_JOINTS"] == ("Update", None)
    assert changed["IG.SDI", "IT.SDI.CATARACT"] == ("Update", None)
    assert changed["IG.VISIT", "IT.VISIT.CREATININE"] == ("Insert", "0.9")
    assert changed["IG.SLEDAI", "IT.SLEDAI.PROTEINURIA"] == ("Update", "false")
    assert changed["IG.VISIT_DER", "IT.VISIT_DER.CORRECTED"] == ("Update", "true")
    assert removed == [("IG.DQ", "PROTEINURIA_LAB_MISMATCH")]  # resolved by the correction


def test_odm_replay_up_to_each_version_gives_participant_at_that_version(
    study: Study, transactions_file: OdmFile
) -> None:
    auditor = study.client(Role.AUDITOR)
    by_subject: dict[str, list[Any]] = {}
    for tx in transactions_file.transactions():
        by_subject.setdefault(tx.subject, []).append(tx)
    checked = 0

    for subject, transactions in by_subject.items():
        transactions.sort(key=lambda tx: tx.audit.source)
        pid = auditor.data("query($s: String!) { participantBySubject(subjectId: $s) { id } }",
                           {"s": subject})["participantBySubject"]["id"]  # fmt: skip
        for version in range(1, len(transactions) + 1):
            expected = auditor.data(PARTICIPANT, {"id": pid, "atVersion": version})["participant"]
            replayed = participant_fields(replay(transactions[:version]), overdue=False)
            assert replayed == from_graphql(expected, overdue=False), (subject, version)
            checked += 1

    assert checked == EVENTS
    assert {"NJ01-007", "NJ02-101", "NJ01-120"} == set(by_subject)


def test_odm_collected_items_hold_what_the_site_entered(transactions_file: OdmFile) -> None:
    seven = [tx for tx in transactions_file.transactions() if tx.subject == "NJ01-007"]
    expected: inputs.Expected = {}
    inputs.consent(expected, consent_input())
    record = {"screen": lambda given: inputs.screening(expected, ("SE.SCREENING", "1"), given),
              "infuse": lambda given: inputs.infusion(expected, given),
              "withdraw": lambda given: inputs.withdrawal(expected, given)}  # fmt: skip
    for step, _, given in lifecycle("pid"):  # in recorded order: later values replace earlier
        if step in record:
            record[step](given)
        elif step.startswith("report"):
            inputs.adverse_event(expected, given)
        elif step.startswith("update"):
            inputs.adverse_event_update(expected, given)
        else:  # a visit scored or corrected
            inputs.visit(expected, given.get("score", given))

    assert inputs.differences(replay(seven), expected) == []
    assert len(expected) > 300


def test_odm_snapshot_at_an_instant_equals_participant_as_of_it_for_every_participant(
    study: Study,
) -> None:
    auditor = study.client(Role.AUDITOR)
    trail = audit_trail(study)
    instants = [trail[n]["recordedAt"] for n in (0, 5, 12, 20)] + [datetime.now(UTC).isoformat()]

    participants = {entry["participantId"] for entry in trail}

    for as_of in instants:
        states = odm(study, snapshot="true", asOf=as_of).snapshot()
        recorded = 0
        for pid in participants:
            expected = auditor.data(PARTICIPANT, {"id": pid, "asOf": as_of})["participant"]
            if expected is None:
                continue
            recorded += 1
            state = states[expected["subjectId"]]
            assert participant_fields(state, overdue=True) == from_graphql(expected, overdue=True)
        assert len(states) == recorded


def test_odm_sponsor_export_holds_no_date_of_birth_or_initials_anywhere(study: Study) -> None:
    pii = [b"1988-04-17", b"LMW", b"1979-11-23", b"QZX", b"BRTHDTC", b"INITIALS"]

    for document in (odm(study, Role.SPONSOR), odm(study, Role.SPONSOR, snapshot="true")):
        assert validation_errors(document.content) == ([], [])
        assert [value for value in pii if value in document.content] == []
    auditor = odm(study, Role.AUDITOR, snapshot="true").content
    assert all(value in auditor for value in pii)  # the values the search looks for exist


def test_odm_export_appends_who_which_participants_and_how_to_the_read_access_log(
    study: Study,
) -> None:
    before = study.logged("exportOdm")

    odm(study, Role.SPONSOR, asOf="2030-01-01T00:00:00Z", snapshot="true")

    after = study.logged("exportOdm")
    assert len(after) == len(before) + 1
    export = after[-1]
    assert (export["actor"], export["actorRole"], export["operation"]) == (
        "sponsor-reader", "SPONSOR", "exportOdm")  # fmt: skip
    assert set(export["participantIds"]) == {study.seven.pid, study.second, study.consented_only}
    assert export["detail"]["snapshot"] is True and export["detail"]["pii"] is False
    assert export["detail"]["asOf"].startswith("2030-01-01")


def test_odm_monitor_export_holds_its_sites_only(study: Study) -> None:
    document = odm(study, Role.MONITOR, "NJ02")

    assert {tx.subject for tx in document.transactions()} == {"NJ02-101"}
    assert document.root.get("Granularity") == "SingleSite"
    assert set(document.locations().values()) == {"NJ02"}
    assert validation_errors(document.content) == ([], [])


def test_odm_participant_export_holds_that_participant_only(study: Study) -> None:
    document = odm(study, participant=study.seven.pid)

    assert {tx.subject for tx in document.transactions()} == {"NJ01-007"}
    assert len(document.transactions()) == 16
    assert document.root.get("Granularity") == "SingleSubject"


@pytest.mark.parametrize(
    ("role", "site", "params", "status", "code"),
    [
        (Role.SITE_STAFF, "NJ01", {}, 403, "FORBIDDEN"),
        (Role.SAFETY_REVIEWER, None, {}, 403, "FORBIDDEN"),
        (Role.MONITOR, "NJ01", {"participant": "second"}, 403, "FORBIDDEN"),
        (Role.AUDITOR, None, {"asOf": "2026-01-01T00:00:00"}, 400, "BAD_INPUT"),
        (Role.AUDITOR, None, {"asOf": "yesterday"}, 400, "BAD_INPUT"),
        (Role.AUDITOR, None, {"participant": "NJ01-007"}, 400, "BAD_INPUT"),
        (Role.AUDITOR, None, {"snapshot": "maybe"}, 400, "BAD_INPUT"),
        (Role.AUDITOR, None, {"participant": "00000000-0000-0000-0000-000000000007"}, 404,
         "NOT_FOUND"),
        (Role.AUDITOR, None, {"participant": "second", "asOf": "2020-01-01T00:00:00Z"}, 404,
         "NOT_FOUND"),
    ],
)  # fmt: skip
def test_odm_export_is_refused_with_the_contract_code_and_logs_nothing(
    study: Study, role: Role, site: str | None, params: dict[str, str], status: int, code: str
) -> None:
    asked = {key: study.second if value == "second" else value for key, value in params.items()}
    before = study.logged("exportOdm")

    response = study.get("/export/odm", role, site, **asked)

    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert study.logged("exportOdm") == before


def test_odm_export_without_a_valid_token_is_unauthenticated(study: Study) -> None:
    url = study.base + "/export/odm"

    missing = httpx.get(url, timeout=10)
    forged = httpx.get(url, headers={"Authorization": "Bearer not.a.token"}, timeout=10)

    for response in (missing, forged):
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
