"""The read models' tables: documents replaced per participant, tracking, lags and NOTIFY."""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import Tracking
from psycopg.sql import SQL, Identifier

from api import readside
from domain.application import TrialApplication
from infra.bootstrap import Service
from infra.demo import record_demo_study
from projections.runner import APPLICATION, differences, rebuild
from projections.store import CHANNEL, ReadModelsWriter, table_name
from tests.integration.stories import (
    AUDITOR,
    READ_MODELS,
    all_documents,
    all_replayed,
    busy,
    enrol,
    head,
    record_cohort,
    replayed_documents,
    staff,
    table_documents,
    wait_for_head,
)
from tests.unit import builders

pytestmark = pytest.mark.integration


def written_at(service: Service, name: str, participant: UUID) -> set[int]:
    """The positions the participant's documents in ``name`` were written at."""
    datastore = service.app.factory.datastore  # type: ignore[attr-defined]
    statement = SQL("SELECT position FROM {}.{} WHERE participant_id = %s").format(
        Identifier(datastore.schema), Identifier(table_name(name))
    )
    with datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, (participant,))
        return {row["position"] for row in curs.fetchall()}


def keys_of(service: Service, name: str, participant: UUID) -> dict[str, Any]:
    return {
        key: doc
        for (owner, key), (_, doc) in table_documents(service, name).items()
        if owner == participant
    }


def test_safety_ledger_replaces_one_participants_documents_when_its_ae_is_updated(
    service: Service,
) -> None:
    app = service.app
    nj01_007 = enrol(app, "NJ01-007")
    nj01_008 = enrol(app, "NJ01-008")
    app.report_adverse_event(nj01_007, builders.ae_report("AE-001"), staff())
    app.report_adverse_event(nj01_008, builders.ae_report("AE-001"), staff())
    wait_for_head(service)
    untouched = written_at(service, "safety_ledger", nj01_008)

    update = app.update_adverse_event(nj01_007, builders.ae_update("AE-001"), staff())
    wait_for_head(service)

    documents = keys_of(service, "safety_ledger", nj01_007)
    assert set(documents) == {"participant", "ae:AE-001"}
    assert documents["ae:AE-001"]["event"]["resolved_on"] == "2025-06-25"
    assert written_at(service, "safety_ledger", nj01_007) == {update.position}
    assert written_at(service, "safety_ledger", nj01_008) == untouched


def test_participant_status_document_holds_the_latest_version_when_several_events_follow(
    service: Service,
) -> None:
    app = service.app
    nj01_007 = enrol(app, "NJ01-007")

    app.score_visit(nj01_007, builders.baseline(), staff())
    wait_for_head(service)

    documents = keys_of(service, "participant_status", nj01_007)
    assert list(documents) == ["participant"]
    assert documents["participant"]["version"] == 4
    assert documents["participant"]["status"] == "INFUSED"
    assert [v["visit"] for v in documents["participant"]["visits"]] == ["BASELINE"]


def test_read_model_lags_reach_zero_when_the_projector_catches_up(service: Service) -> None:
    recorded = record_cohort(service.app, 3)

    wait_for_head(service)

    lags = service.read_models.lags()
    assert [lag.projection for lag in lags] == list(READ_MODELS)
    assert {(lag.position, lag.head, lag.lag) for lag in lags} == {(recorded, recorded, 0)}
    assert recorded == 3 * 16


def test_read_models_reach_the_head_and_report_the_lag_when_the_demo_study_is_recorded(
    service: Service,
) -> None:
    started = time.perf_counter()
    record_demo_study(service.app, seed=101)
    recorded = time.perf_counter()

    wait_for_head(service)

    caught_up = time.perf_counter()
    assert all_documents(service) == all_replayed(service.app)
    print(  # measured, not asserted
        f"\ndemo study: {head(service.app)} events recorded in {recorded - started:.2f} s with "
        f"the projector running; every read model at the head {caught_up - recorded:.3f} s later"
    )


def listening(database_url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(database_url, autocommit=True)
    conn.execute(SQL("LISTEN {}").format(Identifier(CHANNEL)))
    return conn


def notifications(
    conn: psycopg.Connection[Any], participant: UUID, count: int
) -> list[dict[str, Any]]:
    """The next ``count`` notifications about ``participant`` (other tests share the channel)."""
    found: list[dict[str, Any]] = []
    for notify in conn.notifies(timeout=10):
        payload = json.loads(notify.payload)
        if payload["participant_id"] == str(participant):
            found.append(payload)
            if len(found) == count:
                break
    return found


def test_one_notification_follows_the_commit_of_every_read_model_when_an_event_is_projected(
    service: Service, database_url: str
) -> None:
    with listening(database_url) as conn:
        result = service.app.consent(builders.consent(subject_id="NJ01-901"), staff())

        [pushed] = notifications(conn, result.participant_id, count=1)
        committed = {lag.projection: lag.position for lag in service.read_models.lags()}

    assert sorted(pushed["projections"]) == sorted(READ_MODELS)
    assert (pushed["site"], pushed["position"]) == ("NJ01", result.position)
    assert all(committed[name] >= pushed["position"] for name in READ_MODELS)


def test_no_notification_and_no_tracking_when_the_projection_transaction_rolls_back(
    quiet: Service, database_url: str
) -> None:
    store = quiet.read_models["study_summary"]
    pid = quiet.app.consent(builders.consent(subject_id="NJ01-902"), staff()).participant_id
    with listening(database_url) as conn:
        with pytest.raises(TypeError):
            store.apply(Tracking(APPLICATION, 1), pid, "NJ01", {"summary": {"bad": object()}})

        applied = store.apply(Tracking(APPLICATION, 2), pid, "NJ01", {"summary": {"n": 2}})
        again = store.apply(Tracking(APPLICATION, 2), pid, "NJ01", {"summary": {"n": 9}})
        store.apply(Tracking(APPLICATION, 3), pid, "NJ01", {"summary": {"n": 3}})
        pushed = notifications(conn, pid, count=2)

    assert (applied, again) == (True, False)
    assert [p["position"] for p in pushed] == [2, 3]
    assert store.position(APPLICATION) == 3
    assert store.documents(participant_id=pid) == [{"n": 3}]


def test_rows_of_a_participant_survive_unchanged_when_an_event_is_applied_twice(
    quiet: Service,
) -> None:
    app: TrialApplication = quiet.app
    store = quiet.read_models["participant_status"]
    pid = app.consent(builders.consent(subject_id="NJ01-903"), staff()).participant_id
    store.apply(Tracking(APPLICATION, head(app)), pid, "NJ01", {"participant": {"version": 1}})

    repeated = store.apply(
        Tracking(APPLICATION, head(app)), pid, "NJ01", {"participant": {"version": 99}}
    )

    assert repeated is False
    assert store.documents(participant_id=pid) == [{"version": 1}]


def test_differences_name_each_document_that_is_not_what_a_rebuild_would_write(
    service: Service,
) -> None:
    pid = busy(service.app, "NJ01-061").participant_id
    wait_for_head(service)
    assert differences(service.app, READ_MODELS) == {key: [] for key in READ_MODELS}

    datastore = service.app.factory.datastore  # type: ignore[attr-defined]
    schema = Identifier(datastore.schema)
    with datastore.transaction(commit=True) as curs:
        curs.execute(
            SQL(
                "UPDATE {}.{} SET doc = doc::jsonb || '{{\"version\": 99}}' WHERE key = 'summary'"
            ).format(schema, Identifier(table_name("study_summary")))
        )
        curs.execute(
            SQL("DELETE FROM {}.{} WHERE key = 'ae:AE-001'").format(
                schema, Identifier(table_name("safety_ledger"))
            )
        )

    found = differences(service.app, READ_MODELS)

    assert found == {
        "participant_status": [],
        "safety_ledger": [(pid, "ae:AE-001")],
        "study_summary": [(pid, "summary")],
    }


def test_one_transaction_writes_every_read_model_and_its_tracking_position(
    quiet: Service,
) -> None:
    pid = enrol(quiet.app, "NJ01-062")
    position = head(quiet.app)
    writer = ReadModelsWriter(dict(quiet.read_models.stores))
    asked: list[str] = []

    def documents(name: str) -> list[Any]:
        asked.append(name)
        if name == "study_summary":
            raise RuntimeError("no summary row")  # the other read models must not keep theirs
        return [(pid, "NJ01", {"participant": {"n": 1}})]

    with pytest.raises(RuntimeError):
        writer.apply_batch(Tracking(APPLICATION, position), documents)
    assert {name: keys_of(quiet, name, pid) for name in READ_MODELS} == {
        key: {} for key in READ_MODELS
    }
    assert writer.max_tracking_id(APPLICATION) == 0

    written = writer.apply_batch(
        Tracking(APPLICATION, position), lambda name: [(pid, "NJ01", {"k": {"n": name}})]
    )
    again = writer.apply_batch(Tracking(APPLICATION, position), documents)

    assert sorted(asked) == ["participant_status", "safety_ledger", "study_summary"]
    assert written == sorted(READ_MODELS) and again == []
    assert {name: keys_of(quiet, name, pid) for name in READ_MODELS} == {
        name: {"k": {"n": name}} for name in READ_MODELS
    }
    assert writer.max_tracking_id(APPLICATION) == position


def _doc_column(service: Service, table: str) -> tuple[str, str, bool]:
    """The type and compression ("l": lz4, "": the default) of the table's documents, and
    whether the server has lz4."""
    datastore = service.app.factory.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as curs:
        curs.execute(
            "SELECT atttypid::regtype::text AS type, attcompression::text AS compression,"
            " (SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
            "  WHERE name = 'default_toast_compression') AS lz4"
            " FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'doc'",
            (f'"{datastore.schema}"."{table}"',),
        )
        row = curs.fetchone()
    assert row is not None
    return row["type"], row["compression"], row["lz4"]


@pytest.mark.parametrize("name", READ_MODELS)
def test_documents_are_json_compressed_with_lz4_where_the_server_has_it(
    quiet: Service, name: str
) -> None:
    kind, compression, lz4 = _doc_column(quiet, table_name(name))

    assert kind == "json"
    assert compression == ("l" if lz4 else "")


def test_a_jsonb_documents_table_of_an_earlier_version_is_written_read_and_rebuilt(
    quiet: Service,
) -> None:
    service = quiet
    name = "participant_status"
    datastore = service.app.factory.datastore  # type: ignore[attr-defined]
    table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(table_name(name)))
    with datastore.transaction(commit=True) as curs:
        curs.execute(SQL("DROP TABLE {}").format(table))
        curs.execute(
            SQL(
                "CREATE TABLE {} (participant_id uuid NOT NULL, key text NOT NULL,"
                " site text NOT NULL, position bigint NOT NULL, doc jsonb NOT NULL,"
                " PRIMARY KEY (participant_id, key))"
            ).format(table)
        )
    record_cohort(service.app, 2)
    service.start_projector()
    wait_for_head(service)
    assert _doc_column(service, table_name(name))[0] == "jsonb"
    assert table_documents(service, name) == replayed_documents(service.app, name)
    assert len(readside.participants(service, AUDITOR)) == 2

    rebuild(service.app, name)

    kind, compression, lz4 = _doc_column(service, table_name(name))
    assert (kind, compression) == ("json", "l" if lz4 else "")
    assert table_documents(service, name) == replayed_documents(service.app, name)
