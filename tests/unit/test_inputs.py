"""Command inputs: validated once, and stored as JSON payloads that read back equal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.codec import decode, encode
from domain.errors import BadInput
from domain.inputs import (
    ConsentDetails,
    ScreeningDetails,
    VisitScore,
)
from domain.rules.eligibility import Labs
from domain.rules.toxicity import CrsSigns, GvhdStages, IcansSigns
from domain.vocabulary import (
    AeCategory,
    BilagDomain,
    Consciousness,
    Edema,
    SdiItem,
    SeizureStatus,
    Visit,
)
from domain.vocabulary import SledaiDescriptor as D
from tests.unit.builders import (
    GRADE_2_CRS,
    ae_report,
    ae_update,
    baseline,
    bilag,
    consent,
    infusion,
    screening,
    visit,
)


def stored(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as an event store gives it back: through JSON text."""
    return dict(json.loads(json.dumps(payload)))


# ----- payload round trips -----


@pytest.mark.parametrize(
    "score",
    [
        visit(Visit.M1),
        baseline(),
        visit(
            Visit.M6,
            egfr=None,
            creatinine_mg_dl=1.1,
            arthritis_joint_count=3,
            proteinuria_new_or_increased=False,
            rescue_therapy=None,
            lupus_nephritis=None,
            sdi_items=frozenset({SdiItem.CVA, SdiItem.CVA_REPEAT, SdiItem.ESRD}),
        ),
        visit(Visit.M12, sdi_items=None, upcr_g_per_g=None, antimalarial_only=None),
    ],
    ids=["quiet-m1", "active-baseline", "creatinine-and-sdi", "nothing-optional"],
)
def test_visit_score_reads_back_equal_when_stored_as_a_payload(score: VisitScore) -> None:
    payload = stored(encode(score))

    assert decode(VisitScore, payload) == score


def test_visit_score_payload_holds_json_names_when_built() -> None:
    score = visit(
        Visit.M1,
        sledai=frozenset({D.RASH, D.ARTHRITIS}),
        sdi_items=frozenset({SdiItem.DIABETES, SdiItem.CATARACT}),
    )

    payload = encode(score)

    assert (payload["visit"], payload["visit_date"]) == ("M1", "2025-07-20")
    assert payload["sledai"] == ["ARTHRITIS", "RASH"]
    assert payload["sdi_items"] == ["CATARACT", "DIABETES"]
    assert payload["bilag"]["RENAL"] == "D"
    assert payload["pga_tenths"] == 2


@pytest.mark.parametrize(
    "details",
    [
        screening(),
        screening(
            labs=Labs(wbc=2.5, platelets=90.0),
            exclusions=frozenset({3, 14}),
            childbearing_potential=False,
            sledai=frozenset(),
        ),
    ],
    ids=["eligible", "sparse-labs"],
)
def test_screening_details_read_back_equal_when_stored_as_a_payload(
    details: ScreeningDetails,
) -> None:
    payload = stored(encode(details))

    assert decode(ScreeningDetails, payload) == details


@pytest.mark.parametrize("initials", ["LMW", None], ids=["initials", "no-initials"])
def test_consent_details_read_back_equal_when_stored_as_a_payload(initials: str | None) -> None:
    details = consent(initials=initials)

    assert decode(ConsentDetails, stored(encode(details))) == details


def test_consent_details_strip_subject_and_site_when_padded() -> None:
    details = consent(subject_id=" NJ01-007 ", site="NJ01 ")

    assert (details.subject_id, details.site) == ("NJ01-007", "NJ01")


def test_consent_age_is_completed_years_on_the_consent_date() -> None:
    assert consent().age_at_consent == 37  # born 1988-04-17, signed 2025-06-02


def test_ae_signs_read_back_equal_when_stored_as_a_payload() -> None:
    icans = IcansSigns(6, Consciousness.VOICE, SeizureStatus.RAPID, True, Edema.FOCAL)
    gvhd = GvhdStages(skin=2, liver=1, upper_gi=1, lower_gi=3)
    report = ae_report(icans=icans, acute_gvhd=gvhd)

    payload = stored(encode(report))

    assert decode(CrsSigns, payload["crs"]) == GRADE_2_CRS
    assert decode(IcansSigns, payload["icans"]) == icans
    assert decode(GvhdStages, payload["acute_gvhd"]) == gvhd


# ----- bad inputs -----


BAD_INPUTS: list[tuple[str, Callable[[], object], str]] = [
    ("screening-as-visit", lambda: visit(Visit.BASELINE, visit=Visit.SCREENING), "VISIT_KIND"),
    ("negative-creatinine", lambda: visit(Visit.M1, creatinine_mg_dl=-0.1), "CREATININE_VALUE"),
    ("zero-creatinine", lambda: visit(Visit.M1, creatinine_mg_dl=0.0), "CREATININE_VALUE"),
    ("pga-above-3", lambda: visit(Visit.M1, pga_tenths=31), "PGA_RANGE"),
    (
        "bilag-domain-missing",
        lambda: visit(
            Visit.M1,
            bilag={d: g for d, g in bilag().items() if d is not BilagDomain.RENAL},
        ),
        "BILAG_DOMAINS",
    ),
    (
        "sdi-repeat-without-base",
        lambda: visit(Visit.M1, sdi_items=frozenset({SdiItem.MALIGNANCY_REPEAT})),
        "SDI_REPEAT_WITHOUT_BASE",
    ),
    ("exclusion-15", lambda: screening(exclusions=frozenset({15})), "EXCLUSION_NUMBER"),
    ("exclusion-0", lambda: screening(exclusions=frozenset({0})), "EXCLUSION_NUMBER"),
    (
        "date-of-birth-after-consent",
        lambda: consent(date_of_birth=date(2025, 6, 3)),
        "DATE_OF_BIRTH",
    ),
    ("blank-subject", lambda: consent(subject_id="  "), "SUBJECT_ID"),
    (
        "naive-infusion-time",
        lambda: infusion(infused_at=datetime(2025, 6, 20, 2, 0)),
        "INFUSION_TIME",
    ),
    ("zero-dose", lambda: infusion(dose_cells_per_kg=0.0), "INFUSION_DOSE"),
    (
        "naive-awareness-time",
        lambda: ae_report(aware_at=datetime(2025, 6, 21, 3, 0)),
        "AE_AWARE_AT",
    ),
    ("ctcae-grade-6", lambda: ae_report(ctcae_grade=6), "CTCAE_GRADE_RANGE"),
    (
        "naive-sponsor-report-time",
        lambda: ae_update(reported_to_sponsor_at=datetime(2025, 6, 22, 1, 0)),
        "AE_REPORTED_AT",
    ),
    ("empty-ae-update", lambda: ae_update(resolved_on=None), "AE_UPDATE_EMPTY"),
]


@pytest.mark.parametrize(
    ("build", "rule"),
    [(build, rule) for _, build, rule in BAD_INPUTS],
    ids=[name for name, _, _ in BAD_INPUTS],
)
def test_input_rejected_with_its_rule_when_malformed(
    build: Callable[[], object], rule: str
) -> None:
    with pytest.raises(BadInput) as raised:
        build()

    assert raised.value.rule == rule
    assert raised.value.code == "BAD_INPUT"


def test_ae_update_accepted_when_it_changes_only_the_sponsor_report_time() -> None:
    update = ae_update(reported_to_sponsor_at=datetime(2025, 6, 22, 1, 0, tzinfo=UTC))

    assert encode(update, omit=("ae_id", "reason")) == {
        "ctcae_grade": None,
        "resolved_on": None,
        "serious": None,
        "reported_to_sponsor_at": "2025-06-22T01:00:00+00:00",
    }


def test_ae_report_payload_names_its_enums_when_built() -> None:
    report = ae_report(category=AeCategory.CRS)

    payload = encode(report)

    assert (payload["category"], payload["relatedness"], payload["serious"]) == (
        "CRS",
        "DEFINITE",
        [],
    )
    assert payload["crs"]["oxygen"] == "NONE"
    assert (payload["icans"], payload["acute_gvhd"], payload["chronic_gvhd"]) == (None,) * 3


def test_ae_report_rejected_when_its_id_is_blank() -> None:
    with pytest.raises(BadInput) as raised:
        ae_report(ae_id=" ")

    assert raised.value.rule == "AE_ID"
