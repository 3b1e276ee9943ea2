"""The live projector's incremental derivation gives, after every event, exactly the documents
the read models' pure ``rows`` give for the same state (what a rebuild writes), and an adverse
event's report or update derives only that AE again."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.participant import Participant
from projections import derived as derived_module
from projections.live import Cached
from projections.runner import PROJECTIONS
from projections.store import json_text
from tests.unit import builders, story


def _events() -> list[Participant.Event]:
    events: list[Any] = story.on_aggregate().collect_events()
    return events


def _step(cached: Cached | None, event: Participant.Event) -> Cached:
    """The projector's cached participant after one more event."""
    if cached is None:
        return Cached(event.mutate(None))
    cached.apply(event)
    return cached


def test_every_read_models_documents_equal_its_rows_after_every_event() -> None:
    events = _events()
    kinds = {type(event).__name__ for event in events}
    assert {"AdverseEventReported", "AdverseEventUpdated", "VisitScored", "Withdrawn"} <= kinds

    cached: Cached | None = None
    for number, event in enumerate(events, start=1):
        cached = _step(cached, event)  # the projector's cached state, changed in place
        state, derived = cached.participant, cached.derive()
        fresh: Participant | None = None  # the same events folded afresh, as a rebuild does
        for earlier in events[:number]:
            fresh = earlier.mutate(fresh)
        assert fresh is not None
        for read_model in PROJECTIONS:
            assert derived.documents(read_model.name, state) == read_model.rows(fresh), (
                read_model.name,
                type(event).__name__,
            )


def test_an_adverse_event_derives_only_that_event_again(monkeypatch: pytest.MonkeyPatch) -> None:
    events = _events()
    ae_events = [e for e in events if isinstance(e, derived_module.AE_EVENTS)]
    derived_aes: list[str] = []
    real = derived_module.adverse_event_view

    def counted(participant: Participant, ae_id: str) -> Any:
        derived_aes.append(ae_id)
        return real(participant, ae_id)

    def refused(*args: object) -> None:
        raise AssertionError("a visit was derived again for an adverse event")

    cached: Cached | None = None
    for event in events:
        cached = _step(cached, event)
        state = cached.participant
        incremental = isinstance(event, derived_module.AE_EVENTS)
        with monkeypatch.context() as patch:
            patch.setattr(derived_module, "adverse_event_view", counted)
            if incremental:
                patch.setattr(derived_module, "visit_view", refused)
                patch.setattr(derived_module.study_summary, "summary_row", refused)
            derived_aes.clear()
            cached.derive()
        if incremental:
            assert derived_aes == [event.ae_id]
        else:
            assert sorted(derived_aes) == sorted(state.adverse_events)
    assert len(ae_events) >= 5


def test_without_the_derivation_before_an_adverse_event_everything_is_derived() -> None:
    events = _events()
    position = next(
        n for n, e in enumerate(events) if isinstance(e, Participant.AdverseEventUpdated)
    )
    state: Participant | None = None
    for event in events[: position + 1]:
        state = event.mutate(state)
    assert state is not None

    cold = Cached(state).derive()  # as when the projector loads it from the event store

    for read_model in PROJECTIONS:
        assert cold.documents(read_model.name, state) == read_model.rows(state)


@pytest.mark.parametrize("batch", [1, 2, 3, 5, 100])
def test_the_projectors_batches_derive_the_rows_of_the_state_at_each_batch_end(
    batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _events()
    cached: Cached | None = None
    visit_views: list[object] = []
    real = derived_module.visit_view
    monkeypatch.setattr(derived_module, "visit_view", lambda *a: visit_views.append(a) or real(*a))
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        for event in chunk:
            if cached is None:
                cached = Cached(event.mutate(None))
            else:
                cached.apply(event)
        assert cached is not None
        visit_views.clear()
        derived = cached.derive()
        fresh: Participant | None = None
        for earlier in events[: start + len(chunk)]:
            fresh = earlier.mutate(fresh)
        assert fresh is not None
        for read_model in PROJECTIONS:
            assert derived.documents(read_model.name, cached.participant) == read_model.rows(fresh)
        only_aes = start > 0 and all(isinstance(e, derived_module.AE_EVENTS) for e in chunk)
        assert (visit_views == []) is (only_aes or not cached.participant.visits), (start, batch)


def test_adverse_events_reported_in_one_batch_keep_the_order_they_were_reported_in() -> None:
    history = [e for e in _events() if not isinstance(e, derived_module.AE_EVENTS)][:5]
    writer: Participant | None = None
    reader: Participant | None = None
    for event in history:  # consent … infusion, folded into two separate states
        writer, reader = event.mutate(writer), event.mutate(reader)
    assert writer is not None and reader is not None and writer.infusion is not None
    cached = Cached(reader)
    first = cached.derive()
    reports = [f"AE-{n:03d}" for n in range(9, 0, -1)]  # neither sorted nor in hash order
    for ae_id in reports:
        writer.report_adverse_event(
            builders.ae_report(ae_id), builders.NOW, builders.TODAY, builders.signature()
        )
    for event in writer.collect_events():
        cached.apply(event)

    derived = cached.derive()

    assert derived.visits is first.visits  # nothing but the AEs was derived again
    assert list(derived.adverse_events) == reports
    for read_model in PROJECTIONS:
        assert derived.documents(read_model.name, cached.participant) == read_model.rows(writer)


@pytest.mark.parametrize("read_model", PROJECTIONS, ids=[p.name for p in PROJECTIONS])
def test_the_documents_a_rebuild_writes_as_text_are_its_rows_after_every_event(
    read_model: Any,
) -> None:
    participant: Participant | None = None
    for event in _events():
        participant = event.mutate(participant)
        assert participant is not None
        texts = read_model.texts(participant)
        rows = read_model.rows(participant)
        assert {key: json.loads(text) for key, text in texts.items()} == rows
        assert texts == {key: json_text(doc) for key, doc in rows.items()}
