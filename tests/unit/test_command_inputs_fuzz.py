"""Generated command inputs: whatever a caller sends, the domain answers with a TrialError or
accepts it, and what it accepts is stored as plain JSON that reads back equal.

Values come from hypothesis, wider than the contract allows (NaN, infinities, NUL characters,
naive and far-flung times, out-of-range integers), through the domain's constructors, the API's
input types (as strawberry builds them from GraphQL variables) and the aggregate's commands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import inputs as api
from domain.codec import decode, encode
from domain.errors import TrialError
from domain.inputs import (
    AdverseEventReport,
    AdverseEventUpdate,
    ConsentDetails,
    InfusionDetails,
    ScreeningDetails,
    VisitScore,
    Withdrawal,
)
from domain.participant import Participant
from domain.rules.eligibility import Labs
from domain.rules.toxicity import CrsSigns, GvhdStages, IcansSigns
from domain.views import participant_view
from domain.vocabulary import (
    AeCategory,
    BilagDomain,
    BilagGrade,
    ChronicGvhdSeverity,
    Consciousness,
    Edema,
    EularAcrCriterion,
    Oxygen,
    Relatedness,
    SdiItem,
    SeizureStatus,
    SeriousCriterion,
    Sex,
    SledaiDescriptor,
    Visit,
    WithdrawalReason,
)
from tests.unit.builders import (
    NOW,
    TIME_ZONE,
    TODAY,
    eligible,
    infused,
    signature,
    with_adverse_event,
)

T = TypeVar("T")
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# ----- values wider than the contract's -----

texts = st.text(max_size=12)
numbers = st.one_of(
    st.floats(),  # NaN and ±infinity included
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([0, 0.05, 0.1, 2.95, 3.0, 3.05, 1e-300, 1e300, -0.0]),
)
optional_numbers = st.none() | numbers
# GraphQL's Int is 32-bit and its Float finite: what the API's input types can receive.
graphql_ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)
graphql_floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, 0.1, 0.3, 3.0, 1e-300, 1e300]
)
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)) | st.dates()
offsets = (
    st.none()
    | st.just(UTC)
    | st.builds(
        timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
    )
)
# The ends of the calendar with the widest offsets: converting them to UTC or to the trial's
# time zone leaves the range of datetime.
EDGES = [
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    datetime(1, 1, 1, 8, tzinfo=UTC),
    datetime(9999, 12, 31, 12, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
]
instants = st.sampled_from(EDGES) | st.datetimes(min_value=datetime(1900, 1, 2), timezones=offsets)
booleans = st.none() | st.booleans()


def subsets(values: type[T] | list[T]) -> st.SearchStrategy[frozenset[T]]:
    return st.frozensets(st.sampled_from(list(values)))  # type: ignore[arg-type]


def bilag_pairs() -> st.SearchStrategy[list[tuple[BilagDomain, BilagGrade]]]:
    """Usually all nine domains, sometimes one missing or one repeated."""
    whole = st.tuples(*(st.sampled_from(list(BilagGrade)) for _ in BilagDomain)).map(
        lambda grades: list(zip(BilagDomain, grades, strict=True))
    )
    return st.one_of(
        whole,
        whole.map(lambda pairs: pairs[1:]),
        whole.map(lambda pairs: [*pairs, pairs[0]]),
    )


labs_fields = st.fixed_dictionaries(
    {
        name: optional_numbers
        for name in Labs.__dataclass_fields__
        if name not in ("hcg_negative_on", "csf_within_2_weeks", "gilbert_syndrome")
    }
    | {
        "hcg_negative_on": st.none() | dates,
        "csf_within_2_weeks": booleans,
        "gilbert_syndrome": booleans,
    }
)


def accepted_or_refused(build: Callable[[], T]) -> T | None:
    """The built value, or None when the domain refused it with one of its own errors."""
    try:
        return build()
    except TrialError as error:
        assert error.code in ("BAD_INPUT", "DOMAIN_RULE"), error
        assert error.rule and error.message
        return None


def stored(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload through JSON text as the event store keeps it; NaN is not JSON."""
    return dict(json.loads(json.dumps(payload, allow_nan=False)))


# ----- the domain's constructors -----


@FUZZ
@given(
    subject_id=texts,
    site=texts,
    consent_version=texts,
    signed_on=dates,
    date_of_birth=dates,
    sex=st.sampled_from(list(Sex)),
    initials=st.none() | texts,
)
def test_consent_details_read_back_equal_or_are_refused_when_generated(
    subject_id: str,
    site: str,
    consent_version: str,
    signed_on: date,
    date_of_birth: date,
    sex: Sex,
    initials: str | None,
) -> None:
    details = accepted_or_refused(
        lambda: ConsentDetails(
            subject_id, site, consent_version, signed_on, date_of_birth, sex, initials
        )
    )

    if details is not None:
        assert decode(ConsentDetails, stored(encode(details))) == details
        assert details.age_at_consent >= 0


@FUZZ
@given(
    screened_on=dates,
    labs=labs_fields,
    sledai=subsets(SledaiDescriptor),
    bilag=bilag_pairs(),
    criteria=subsets(EularAcrCriterion),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    exclusions=st.frozensets(st.integers(min_value=-5, max_value=20)),
)
def test_screening_details_read_back_equal_or_are_refused_when_generated(
    screened_on: date,
    labs: dict[str, Any],
    sledai: frozenset[SledaiDescriptor],
    bilag: list[tuple[BilagDomain, BilagGrade]],
    criteria: frozenset[EularAcrCriterion],
    flags: tuple[bool, bool, bool, bool],
    exclusions: frozenset[int],
) -> None:
    def build() -> ScreeningDetails:
        return ScreeningDetails(
            screened_on, Labs(**labs), sledai, dict(bilag), criteria, *flags, exclusions
        )

    details = accepted_or_refused(build)

    if details is not None:
        assert decode(ScreeningDetails, stored(encode(details))) == details


def visit_scores() -> st.SearchStrategy[Callable[[], VisitScore]]:
    """A thunk building a VisitScore from generated values (building may raise)."""

    def score(visit: Visit, visit_date: date, sledai: frozenset[SledaiDescriptor],
              bilag: list[tuple[BilagDomain, BilagGrade]], pga_tenths: int, prednisone: float,
              optional: dict[str, Any], sdi: frozenset[SdiItem] | None,
              ) -> Callable[[], VisitScore]:  # fmt: skip
        return lambda: VisitScore(
            visit=visit, visit_date=visit_date, sledai=sledai, bilag=dict(bilag),
            pga_tenths=pga_tenths, prednisone_mg_per_day=prednisone, **optional, sdi_items=sdi,
        )  # fmt: skip

    return st.builds(
        score,
        st.sampled_from(list(Visit)),
        dates,
        subsets(SledaiDescriptor),
        bilag_pairs(),
        st.integers(min_value=-5, max_value=40),
        numbers,
        st.fixed_dictionaries(
            {},
            optional={
                "arthritis_joint_count": st.none() | st.integers(-3, 70),
                "proteinuria_new_or_increased": booleans,
                "rescue_therapy": booleans,
                "lupus_nephritis": booleans,
                "upcr_g_per_g": optional_numbers,
                "egfr": optional_numbers,
                "creatinine_mg_dl": optional_numbers,
            },
        ),
        st.none() | subsets(SdiItem),
    )


@FUZZ
@given(build=visit_scores())
def test_visit_score_reads_back_equal_or_is_refused_when_generated(
    build: Callable[[], VisitScore],
) -> None:
    score = accepted_or_refused(build)

    if score is not None:
        assert decode(VisitScore, stored(encode(score))) == score


@FUZZ
@given(infused_at=instants, dose=numbers, lot=texts)
def test_infusion_details_store_finite_json_or_are_refused_when_generated(
    infused_at: datetime, dose: float, lot: str
) -> None:
    details = accepted_or_refused(lambda: InfusionDetails(infused_at, dose, lot))

    if details is not None:
        assert stored(encode(details))["lot"] == lot


def crs_signs() -> st.SearchStrategy[Callable[[], CrsSigns]]:
    return st.builds(
        lambda *values: lambda: CrsSigns(*values),
        numbers,
        st.booleans(),
        st.booleans(),
        st.integers(-3, 10),
        st.booleans(),
        st.sampled_from(list(Oxygen)),
    )


def icans_signs() -> st.SearchStrategy[Callable[[], IcansSigns]]:
    return st.builds(
        lambda *values: lambda: IcansSigns(*values),
        st.integers(-3, 15),
        st.sampled_from(list(Consciousness)),
        st.sampled_from(list(SeizureStatus)),
        st.booleans(),
        st.sampled_from(list(Edema)),
    )


def gvhd_stages() -> st.SearchStrategy[Callable[[], GvhdStages]]:
    stage = st.integers(-2, 6)
    return st.builds(lambda *values: lambda: GvhdStages(*values), stage, stage, stage, stage)


def ae_reports() -> st.SearchStrategy[Callable[[], AdverseEventReport]]:
    def none_or(strategy: st.SearchStrategy[Callable[[], T]]) -> Any:
        return st.none() | strategy

    def report(ae_id: str, term: str, category: AeCategory, onset: date, aware: datetime,
               grade: int, serious: frozenset[SeriousCriterion], related: Relatedness,
               crs: Any, icans: Any, gvhd: Any, chronic: ChronicGvhdSeverity | None,
               ) -> Callable[[], AdverseEventReport]:  # fmt: skip
        return lambda: AdverseEventReport(
            ae_id, term, category, onset, aware, grade, serious, related,
            crs=crs and crs(), icans=icans and icans(), acute_gvhd=gvhd and gvhd(),
            chronic_gvhd=chronic,
        )  # fmt: skip

    return st.builds(
        report,
        st.just("AE-001") | texts,
        st.just("Cytokine release syndrome") | texts,
        st.sampled_from(list(AeCategory)),
        st.just(date(2025, 6, 21)) | dates,  # the day after the builders' infusion, or any
        instants,
        st.integers(1, 5) | st.integers(-2, 8),
        subsets(SeriousCriterion),
        st.sampled_from(list(Relatedness)),
        none_or(crs_signs()),
        none_or(icans_signs()),
        none_or(gvhd_stages()),
        st.none() | st.sampled_from(list(ChronicGvhdSeverity)),
    )


@FUZZ
@given(build=ae_reports())
def test_adverse_event_report_stores_finite_json_or_is_refused_when_generated(
    build: Callable[[], AdverseEventReport],
) -> None:
    report = accepted_or_refused(build)

    if report is not None:
        assert stored(encode(report))["ae_id"] == report.ae_id


@FUZZ
@given(
    ae_id=texts,
    reason=texts,
    grade=st.none() | st.integers(-2, 8),
    resolved_on=st.none() | dates,
    serious=st.none() | subsets(SeriousCriterion),
    reported_at=st.none() | instants,
)
def test_adverse_event_update_stores_json_or_is_refused_when_generated(
    ae_id: str,
    reason: str,
    grade: int | None,
    resolved_on: date | None,
    serious: frozenset[SeriousCriterion] | None,
    reported_at: datetime | None,
) -> None:
    update = accepted_or_refused(
        lambda: AdverseEventUpdate(ae_id, reason, grade, resolved_on, serious, reported_at)
    )

    if update is not None:
        assert set(stored(encode(update, omit=("ae_id", "reason")))) == {
            "ctcae_grade", "resolved_on", "serious", "reported_to_sponsor_at",
        }  # fmt: skip


@FUZZ
@given(withdrawn_on=dates, reason=st.sampled_from(list(WithdrawalReason)), note=st.none() | texts)
def test_withdrawal_stores_json_when_generated(
    withdrawn_on: date, reason: WithdrawalReason, note: str | None
) -> None:
    withdrawal = accepted_or_refused(lambda: Withdrawal(withdrawn_on, reason, note))

    storable_note = note is None or (
        "\x00" not in note and not any(0xD800 <= ord(c) <= 0xDFFF for c in note)
    )
    in_calendar = date(1900, 1, 1) <= withdrawn_on <= date(2199, 12, 31)
    assert (withdrawal is not None) == (in_calendar and storable_note)
    if withdrawal is not None:
        assert stored(encode(withdrawal))["note"] == note


# ----- the API's input types, as strawberry builds them from GraphQL variables -----


def api_bilag() -> st.SearchStrategy[list[api.BilagGradeInput]]:
    return bilag_pairs().map(lambda pairs: [api.BilagGradeInput(domain=d, grade=g)
                                            for d, g in pairs])  # fmt: skip


api_labs = st.fixed_dictionaries(
    {},
    optional={
        name: st.none() | graphql_floats
        for name in Labs.__dataclass_fields__
        if name not in ("hcg_negative_on", "csf_within_2_weeks", "gilbert_syndrome")
    },
).map(lambda values: api.LabsInput(**values))

api_visit_scores = st.builds(
    api.VisitScoreInput,
    participant_id=texts,
    visit=st.sampled_from(list(Visit)),
    visit_date=dates,
    sledai=st.lists(st.sampled_from(list(SledaiDescriptor)), max_size=4),
    bilag=api_bilag(),
    pga_score=graphql_floats,
    prednisone_mg_per_day=graphql_floats,
    arthritis_joint_count=st.none() | graphql_ints,
    upcr_g_per_g=st.none() | graphql_floats,
    egfr=st.none() | graphql_floats,
    creatinine_mg_dl=st.none() | graphql_floats,
    sdi_items=st.none() | st.lists(st.sampled_from(list(SdiItem)), max_size=4),
)

API_INPUTS: dict[str, st.SearchStrategy[Any]] = {
    "ConsentInput": st.builds(
        api.ConsentInput,
        subject_id=texts, site=texts, consent_version=texts, signed_on=dates,
        date_of_birth=dates, sex=st.sampled_from(list(Sex)), initials=st.none() | texts,
    ),
    "ScreeningInput": st.builds(
        api.ScreeningInput,
        participant_id=texts, screened_on=dates, labs=api_labs,
        sledai=st.lists(st.sampled_from(list(SledaiDescriptor)), max_size=4),
        bilag=api_bilag(),
        eular_acr_criteria=st.lists(st.sampled_from(list(EularAcrCriterion)), max_size=4),
        refractory=st.booleans(), childbearing_potential=st.booleans(),
        lactating=st.booleans(), contraception_agreed=st.booleans(),
        exclusions=st.lists(graphql_ints, max_size=3),
    ),
    "InfusionInput": st.builds(
        api.InfusionInput,
        participant_id=texts, infused_at=instants, dose_cells_per_kg=graphql_floats, lot=texts,
    ),
    "VisitScoreInput": api_visit_scores,
    "CorrectionInput": st.builds(
        api.CorrectionInput,
        participant_id=texts, visit=st.sampled_from(list(Visit)), reason=texts,
        score=api_visit_scores,
    ),
    "AdverseEventInput": st.builds(
        api.AdverseEventInput,
        participant_id=texts, ae_id=texts, term=texts,
        category=st.sampled_from(list(AeCategory)), onset_on=dates, aware_at=instants,
        ctcae_grade=graphql_ints, serious=st.lists(st.sampled_from(list(SeriousCriterion))),
        relatedness=st.sampled_from(list(Relatedness)),
        crs=st.none() | st.builds(
            api.CrsInput, temperature_c=graphql_floats, vasopressors=graphql_ints,
            fever_modified_by_treatment=st.booleans(), hypotension=st.booleans(),
            vasopressin=st.booleans(), oxygen=st.sampled_from(list(Oxygen)),
        ),
        icans=st.none() | st.builds(
            api.IcansInput, ice_score=graphql_ints, motor_weakness=st.booleans(),
            consciousness=st.sampled_from(list(Consciousness)),
            seizure=st.sampled_from(list(SeizureStatus)), edema=st.sampled_from(list(Edema)),
        ),
        acute_gvhd=st.none() | st.builds(
            api.GvhdInput, skin_stage=graphql_ints, liver_stage=graphql_ints,
            upper_gi_stage=graphql_ints, lower_gi_stage=graphql_ints,
        ),
    ),
    "AeUpdateInput": st.builds(
        api.AeUpdateInput,
        participant_id=texts, ae_id=texts, reason=texts, ctcae_grade=st.none() | graphql_ints,
        resolved_on=st.none() | dates,
        serious=st.none() | st.lists(st.sampled_from(list(SeriousCriterion))),
        reported_to_sponsor_at=st.none() | instants,
    ),
    "WithdrawInput": st.builds(
        api.WithdrawInput,
        participant_id=texts, withdrawn_on=dates,
        reason=st.sampled_from(list(WithdrawalReason)), note=st.none() | texts,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", API_INPUTS)
def test_api_input_converts_or_is_refused_with_a_trial_error_when_generated(name: str) -> None:
    @FUZZ
    @given(value=API_INPUTS[name])
    def converts_or_refuses(value: Any) -> None:
        if hasattr(value, "participant_id"):
            accepted_or_refused(lambda: api.parse_participant_id(value.participant_id))
        accepted_or_refused(value.to_domain)

    converts_or_refuses()


@FUZZ
@given(value=st.text() | st.integers().map(str))
def test_participant_id_parses_or_is_bad_input_when_any_text_is_sent(value: str) -> None:
    parsed = accepted_or_refused(lambda: api.parse_participant_id(value))

    assert parsed is None or str(parsed) == str(parsed).lower()


# ----- accepted inputs through the aggregate's commands and its view -----


@FUZZ
@given(infused_at=instants, dose=numbers, lot=texts)
def test_participant_view_derives_the_study_days_when_a_generated_infusion_is_accepted(
    infused_at: datetime, dose: float, lot: str
) -> None:
    participant = eligible()

    def infuse() -> Participant:
        details = InfusionDetails(infused_at, dose, lot)
        participant.record_infusion(details, NOW, TIME_ZONE, signature())
        return participant

    accepted = accepted_or_refused(infuse)

    view = participant_view(participant)
    assert (view.infused_at is None) is (accepted is None)


@FUZZ
@given(build=visit_scores())
def test_participant_view_derives_every_outcome_when_a_generated_visit_is_accepted(
    build: Callable[[], VisitScore],
) -> None:
    participant = infused()

    accepted = accepted_or_refused(lambda: _score(participant, build()))

    view = participant_view(participant)
    assert len(view.visits) == (0 if accepted is None else 1)


def _score(participant: Participant, score: VisitScore) -> Participant:
    participant.score_visit(score, TODAY, signature())
    return participant


@FUZZ
@given(build=ae_reports(), grade=st.none() | st.integers(-2, 8), resolved_on=st.none() | dates)
def test_participant_view_derives_every_grade_when_a_generated_adverse_event_is_accepted(
    build: Callable[[], AdverseEventReport], grade: int | None, resolved_on: date | None
) -> None:
    participant = infused()

    def report_then_update() -> Participant:
        report = build()
        participant.report_adverse_event(report, NOW, TODAY, signature())
        update = AdverseEventUpdate(report.ae_id, "follow-up call", grade, resolved_on)
        participant.update_adverse_event(update, NOW, TODAY, signature())
        return participant

    accepted_or_refused(report_then_update)

    view = participant_view(participant)
    assert len(view.adverse_events) <= 1
    assert participant.version in (3, 4, 5)


@FUZZ
@given(reason=texts, build=visit_scores())
def test_participant_view_holds_when_a_generated_correction_is_accepted(
    reason: str, build: Callable[[], VisitScore]
) -> None:
    participant = with_adverse_event()
    version = participant.version

    def correct() -> Participant:
        score = build()
        participant.score_visit(score, TODAY, signature())
        participant.correct_visit(score, reason, TODAY, signature())
        return participant

    accepted_or_refused(correct)

    view = participant_view(participant)
    assert participant.version - version in (0, 1, 2)
    assert len(view.visits) == (0 if participant.version == version else 1)
