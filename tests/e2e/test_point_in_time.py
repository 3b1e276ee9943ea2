"""`atVersion` and `asOf` give back exactly the state that was recorded, after later events.

The story of ``documents.lifecycle`` is recorded once; after each step the test kept the
participant as the current query showed it and the step's ``CommandResult.recordedAt``. At the end
(after the M2 correction, the AE updates and the withdrawal) every earlier state is asked for again.

Which fields may legitimately differ from the view captured at the time:
- ``asOf``: null in a current or ``atVersion`` view; the requested instant in an ``asOf`` view.
- ``reportingOverdue``: judged against the reference instant (``asOf``, else now). Here every
  reference instant (capture time, ``recordedAt``, query time) lies within seconds of today and
  long after AE-001's due time (2025-06-22), so it agrees and is compared too; an SAE whose due
  time fell between two reference instants would legitimately differ.
Everything else is a function of the first n events only, so it must be equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from domain.vocabulary import Role
from tests.e2e.documents import (
    BY_SUBJECT,
    PARTICIPANT,
    Story,
    error_code,
    scratch_schema,
    serving,
    walk,
)

VERSIONS = range(1, 17)


def without_as_of(view: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in view.items() if name != "asOf"}


def recorded_at(story: Story, version: int) -> datetime:
    return datetime.fromisoformat(story.taken[version - 1][1]["recordedAt"])


@pytest.fixture(scope="module")
def story(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    data_dir = tmp_path_factory.mktemp("point-in-time")
    with scratch_schema(database_url) as schema, serving(database_url, schema, data_dir) as client:
        yield walk(client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li"))


@pytest.mark.parametrize("version", VERSIONS)
def test_participant_at_version_equals_the_view_captured_then_when_later_events_exist(
    story: Story, version: int
) -> None:
    captured = story.taken[version - 1][2]

    view = story.staff.data(PARTICIPANT, {"id": story.pid, "atVersion": version})["participant"]

    assert view == captured
    assert view["asOf"] is None


@pytest.mark.parametrize("version", VERSIONS)
def test_participant_as_of_recorded_at_equals_the_view_captured_then_when_later_events_exist(
    story: Story, version: int
) -> None:
    instant = recorded_at(story, version)
    captured = story.taken[version - 1][2]

    view = story.staff.data(PARTICIPANT, {"id": story.pid, "asOf": instant.isoformat()})[
        "participant"
    ]

    assert without_as_of(view) == without_as_of(captured)
    assert datetime.fromisoformat(view["asOf"]) == instant


@pytest.mark.parametrize("version", VERSIONS)
def test_participant_by_subject_as_of_recorded_at_equals_the_view_captured_when_later_events_exist(
    story: Story, version: int
) -> None:
    instant = recorded_at(story, version)

    view = story.staff.data(BY_SUBJECT, {"subjectId": "NJ01-007", "asOf": instant.isoformat()})[
        "participantBySubject"
    ]

    assert without_as_of(view) == without_as_of(story.taken[version - 1][2])


@pytest.mark.parametrize("version", VERSIONS[:-1])
def test_participant_shows_the_earlier_version_when_asked_as_of_an_instant_between_two_events(
    story: Story, version: int
) -> None:
    between = (
        recorded_at(story, version)
        + (recorded_at(story, version + 1) - recorded_at(story, version)) / 2
    )

    view = story.staff.data(PARTICIPANT, {"id": story.pid, "asOf": between.isoformat()})[
        "participant"
    ]

    assert view["version"] == version
    assert without_as_of(view) == without_as_of(story.taken[version - 1][2])


def test_participant_shows_the_first_value_when_asked_at_the_version_before_the_correction(
    story: Story,
) -> None:
    correction = next(v for v, (step, _, _) in enumerate(story.taken, 1) if step == "correct M2")

    at_version = story.staff.data(PARTICIPANT, {"id": story.pid, "atVersion": correction - 1})
    now = story.staff.data(PARTICIPANT, {"id": story.pid})

    m2_then = next(v for v in at_version["participant"]["visits"] if v["visit"] == "M2")
    m2_now = next(v for v in now["participant"]["visits"] if v["visit"] == "M2")
    assert (m2_then["pga"], m2_then["doris"], m2_then["corrected"]) == (0.6, "NON_RESPONDER", False)
    assert (m2_now["pga"], m2_now["doris"], m2_now["corrected"]) == (0.3, "RESPONDER", True)


def test_participant_is_null_when_asked_as_of_just_before_its_consent_was_recorded(
    story: Story,
) -> None:
    before = recorded_at(story, 1) - timedelta(microseconds=1)

    by_id = story.staff.data(PARTICIPANT, {"id": story.pid, "asOf": before.isoformat()})
    by_subject = story.staff.data(BY_SUBJECT, {"subjectId": "NJ01-007", "asOf": before.isoformat()})

    assert by_id["participant"] is None
    assert by_subject["participantBySubject"] is None


def test_participant_is_null_when_asked_at_version_zero(story: Story) -> None:
    body = story.staff.post(PARTICIPANT, {"id": story.pid, "atVersion": 0})

    assert body == {"data": {"participant": None}}


def test_participant_query_is_bad_input_when_at_version_is_negative(story: Story) -> None:
    body = story.staff.post(PARTICIPANT, {"id": story.pid, "atVersion": -1})

    assert error_code(body) == "BAD_INPUT"
    assert "AT_VERSION" in body["errors"][0]["message"]


def test_participant_query_is_bad_input_when_as_of_has_no_utc_offset(story: Story) -> None:
    naive = recorded_at(story, 3).replace(tzinfo=None).isoformat()

    body = story.staff.post(PARTICIPANT, {"id": story.pid, "asOf": naive})

    assert error_code(body) == "BAD_INPUT"


def test_participant_by_subject_as_of_a_time_is_null_when_the_subject_never_consented(
    story: Story,
) -> None:
    latest = recorded_at(story, VERSIONS[-1])

    body = story.staff.data(BY_SUBJECT, {"subjectId": "NJ01-404", "asOf": latest.isoformat()})

    assert body["participantBySubject"] is None
