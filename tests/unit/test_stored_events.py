"""Stored events stay as they are: what the aggregate records, byte for byte, and old streams.

``data/stored-events.jsonl`` is the JSON state (before compression and encryption) of every event
of one story, as the code of commit 0e44de9 recorded it: each event type, every kind of payload
(eligibility results, labs, signs of CRS, ICANS and acute GVHD, AE updates, corrections, a
withdrawal). The file is a record of what databases already hold, not an expected output of the
current code: a change of the payload codec that alters one byte fails here, and so does one that
can no longer replay a stream recorded before it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain.application import TrialApplication
from domain.participant import Participant
from domain.rules.toxicity import GvhdStages, IcansSigns
from domain.views import participant_view
from domain.vocabulary import (
    AeCategory,
    Consciousness,
    Edema,
    Relatedness,
    SdiItem,
    SeizureStatus,
    SeriousCriterion,
    Visit,
    WithdrawalReason,
)
from domain.vocabulary import SledaiDescriptor as D
from tests.unit.builders import (
    NOW,
    TIME_ZONE,
    TODAY,
    ae_report,
    ae_update,
    baseline,
    consent,
    failed_screening,
    infusion,
    screening,
    signature,
    visit,
    withdrawal,
)

STORED = Path(__file__).parent / "data" / "stored-events.jsonl"
READ_AT = datetime(2026, 7, 1, 8, tzinfo=UTC)
# The event's creation time (the aggregate's clock, not an input): the one value that differs.
TIMESTAMP = re.compile(r'^\{"timestamp":\{"_type_":"datetime_iso","_data_":"[^"]+"\}')


def _without_timestamp(state: str) -> str:
    return TIMESTAMP.sub('{"timestamp":{}', state)


def story() -> Participant:
    """Every event type and payload shape, in an order the workflow allows."""
    participant = Participant.enrol(consent(), TODAY, signature("consent"))
    participant.screen(failed_screening(), TODAY, signature())
    participant.screen(screening(), TODAY, signature())
    participant.score_visit(baseline(), TODAY, signature())
    participant.record_infusion(infusion(), NOW, TIME_ZONE, signature())
    participant.score_visit(
        visit(Visit.M1, sledai=frozenset({D.RASH}), pga_tenths=9), TODAY, signature()
    )
    participant.correct_visit(
        visit(Visit.M1, sledai=frozenset({D.RASH}), pga_tenths=7),
        "transcription error: PGA is 0.7 on the source",
        TODAY,
        signature(),
    )
    participant.report_adverse_event(ae_report(), NOW, TODAY, signature())
    participant.report_adverse_event(
        ae_report(
            "AE-002",
            term="Immune effector cell-associated neurotoxicity syndrome",
            category=AeCategory.ICANS,
            ctcae_grade=3,
            serious=frozenset({SeriousCriterion.HOSPITALISATION}),
            relatedness=Relatedness.PROBABLE,
            crs=None,
            icans=IcansSigns(6, Consciousness.VOICE, SeizureStatus.NONE, False,
                             Edema.NONE),
        ),
        NOW, TODAY, signature(),
    )  # fmt: skip
    participant.report_adverse_event(
        ae_report(
            "AE-003",
            term="Acute graft-versus-host disease",
            category=AeCategory.ACUTE_GVHD,
            crs=None,
            acute_gvhd=GvhdStages(skin=2, liver=0, upper_gi=1, lower_gi=0),
        ),
        NOW, TODAY, signature(),
    )  # fmt: skip
    participant.update_adverse_event(
        ae_update(
            "AE-002",
            reason="sponsor informed",
            reported_to_sponsor_at=datetime(2025, 6, 22, 1, 30, tzinfo=UTC),
        ),
        NOW, TODAY, signature(),
    )  # fmt: skip
    participant.update_adverse_event(ae_update("AE-001"), NOW, TODAY, signature())
    participant.score_visit(
        visit(Visit.M2, egfr=None, creatinine_mg_dl=0.9, sdi_items=frozenset({SdiItem.CATARACT})),
        TODAY,
        signature(),
    )
    participant.withdraw(withdrawal(date(2025, 9, 1), WithdrawalReason.LOST_TO_FOLLOW_UP),
                         TODAY, signature())  # fmt: skip
    return participant


def _application() -> TrialApplication:
    return TrialApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def _recorded() -> list[dict[str, Any]]:
    return [json.loads(line) for line in STORED.read_text().splitlines()]


def test_the_aggregate_records_the_same_bytes_as_before() -> None:
    mapper = _application().mapper
    events = story().collect_events()
    stored = [mapper.to_stored_event(event) for event in events]
    recorded = _recorded()
    assert [s.topic for s in stored] == [r["topic"] for r in recorded]
    for event, before in zip(stored, recorded, strict=True):
        assert _without_timestamp(event.state.decode()) == _without_timestamp(before["state"])


def test_a_stream_recorded_before_replays_to_the_same_participant() -> None:
    mapper = _application().mapper
    pid = UUID(_recorded()[0]["originator_id"])
    replayed: Participant | None = None
    for version, row in enumerate(_recorded(), start=1):
        stored = StoredEvent(pid, version, row["topic"], row["state"].encode())
        replayed = mapper.to_domain_event(stored).mutate(replayed)  # type: ignore[attr-defined]
    assert replayed is not None
    participant = story()
    assert participant_view(replayed) == participant_view(participant)


@pytest.mark.parametrize("topic_end", ["Consented", "Screened", "Infused", "VisitScored",
                                       "VisitCorrected", "AdverseEventReported",
                                       "AdverseEventUpdated", "Withdrawn"])  # fmt: skip
def test_the_record_covers_every_event_type(topic_end: str) -> None:
    assert any(row["topic"].endswith("." + topic_end) for row in _recorded())


def write_record() -> None:  # pragma: no cover - run once, at commit 0e44de9
    mapper = _application().mapper
    with STORED.open("w") as out:
        for event in story().collect_events():
            stored = mapper.to_stored_event(event)
            row = {
                "originator_id": str(stored.originator_id),
                "topic": stored.topic,
                "state": stored.state.decode(),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
