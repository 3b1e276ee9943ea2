"""GET /export/sdtm/{DOMAIN}.json (and .xpt, define.xml) over HTTP: SDTM datasets as
Dataset-JSON 1.1 and SAS V5 transport files with their Define-XML 2.1, read back by independent
readers and checked against clinical-rules.md and SDTM's conventions (STUDYID, USUBJID, ISO 8601
dates, study days with no day 0), with the access rules and the read log of every read.

The study is tests/e2e/cdisc_story.py's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from domain.vocabulary import Role
from tests.e2e.cdisc_story import MARKUP_TERM, Study, record_study
from tests.e2e.conftest import GraphQLClient
from tests.e2e.documents import REPORT_AE, ae_input, enrol
from tests.e2e.sdtm_files import (
    SCHEMA,
    SCHEMA_SHA256,
    cell_errors,
    define_errors,
    same_cells,
    schema_errors,
    table,
    xpt_rows,
)

pytestmark = pytest.mark.e2e

DOMAINS = ("DM", "DS", "EX", "AE", "SUPPAE", "IE", "LB", "RS")


@pytest.fixture(scope="module")
def study(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    with record_study(database_url, tmp_path_factory.mktemp("sdtm")) as recorded:
        yield recorded


def dataset(
    study: Study, domain: str, role: Role = Role.AUDITOR, site: str | None = None, **params: str
) -> dict[str, Any]:
    response = study.get(f"/export/sdtm/{domain}.json", role, site, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture(scope="module")
def datasets(study: Study) -> dict[str, dict[str, Any]]:
    return {domain: dataset(study, domain) for domain in DOMAINS}


def test_kept_dataset_json_schema_is_the_one_cdisc_rules_engine_0_17_1_ships() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


@pytest.mark.parametrize("domain", DOMAINS)
def test_sdtm_dataset_json_validates_and_every_cell_matches_its_column_type(
    datasets: dict[str, dict[str, Any]], domain: str
) -> None:
    document = datasets[domain]

    assert schema_errors(document) == []
    assert cell_errors(document) == []
    assert document["records"] == len(document["rows"])
    assert (document["name"], document["datasetJSONVersion"]) == (domain, "1.1.0")


def test_cell_check_finds_a_cell_that_is_not_its_columns_type(
    datasets: dict[str, dict[str, Any]],
) -> None:
    document = datasets["DM"]
    broken = {**document, "rows": [list(row) for row in document["rows"]]}
    names = [column["name"] for column in document["columns"]]
    broken["rows"][0][names.index("AGE")] = "37"
    broken["rows"][1][names.index("RFICDTC")] = "2025-02-30"

    assert len(cell_errors(broken)) == 2
    assert schema_errors({**document, "records": "17"}) != []


@pytest.mark.parametrize("domain", DOMAINS)
def test_sdtm_variable_names_and_labels_fit_a_sas_v5_transport_file(
    datasets: dict[str, dict[str, Any]], domain: str
) -> None:
    document = datasets[domain]

    assert len(document["name"]) <= 8 and len(document["label"]) <= 40
    for column in document["columns"]:
        assert len(column["name"]) <= 8, column["name"]
        assert len(column["label"]) <= 40, column["label"]
        assert column["name"].isupper() and column["name"].isalnum()


@pytest.mark.parametrize("domain", DOMAINS)
def test_sdtm_xpt_read_back_with_pandas_equals_the_dataset_json_rows(
    study: Study, datasets: dict[str, dict[str, Any]], domain: str, tmp_path: Path
) -> None:
    response = study.get(f"/export/sdtm/{domain}.xpt", Role.AUDITOR)
    assert response.status_code == 200, response.text
    path = tmp_path / f"{domain.lower()}.xpt"
    path.write_bytes(response.content)

    names, rows = xpt_rows(path)

    document = datasets[domain]
    assert names == [column["name"] for column in document["columns"]]
    assert same_cells(document["rows"], rows) == []


def test_define_xml_validates_against_define_xml_2_1_and_describes_every_dataset_file(
    study: Study,
) -> None:
    for file_format, extension in (("dataset-json", "json"), ("xpt", "xpt")):
        response = study.get("/export/sdtm/define.xml", Role.AUDITOR, format=file_format)
        assert response.status_code == 200, response.text

        assert define_errors(response.content) == ([], [])
        for domain in DOMAINS:
            assert f'xlink:href="{domain.lower()}.{extension}"'.encode() in response.content


def test_define_xml_validation_fails_when_a_required_attribute_is_removed(study: Study) -> None:
    content = study.get("/export/sdtm/define.xml", Role.AUDITOR).content
    broken = content.replace(b' def:Structure="One record per subject"', b"", 1)

    by_lxml, by_xmlschema = define_errors(broken)

    assert broken != content
    assert by_lxml and by_xmlschema


def test_sdtm_identifies_the_study_and_each_subject_as_cht101_and_its_subject_id(
    datasets: dict[str, dict[str, Any]],
) -> None:
    subjects = {row["SUBJID"]: row for row in table(datasets["DM"])}

    assert set(subjects) == {"NJ01-007", "NJ02-101", "NJ01-120"}
    for domain in DOMAINS:
        for row in table(datasets[domain]):
            assert row["STUDYID"] == "CHT101"
            assert row["USUBJID"] in {f"CHT101-{subject}" for subject in subjects}


def test_sdtm_study_day_1_is_the_infusion_date_and_there_is_no_day_0(
    datasets: dict[str, dict[str, Any]],
) -> None:
    dm = {row["SUBJID"]: row for row in table(datasets["DM"])}
    seven = dm["NJ01-007"]
    ae = {row["AESPID"]: row for row in table(datasets["AE"])
          if row["USUBJID"] == "CHT101-NJ01-007"}  # fmt: skip
    [ex] = [row for row in table(datasets["EX"]) if row["USUBJID"] == "CHT101-NJ01-007"]

    # Infused 2025-06-20T02:00Z: 10:00 in Nanjing, infusion (rulebook) day 0 = SDTM day 1.
    assert seven["RFSTDTC"] == "2025-06-20T10:00:00"
    assert (ex["EXSTDTC"], ex["EXSTDY"]) == ("2025-06-20T10:00:00", 1)
    # AE onset 2025-06-21 is rulebook day 1, SDTM day 2; consent 2025-06-02 is day -18 in both.
    assert (ae["AE-001"]["AESTDTC"], ae["AE-001"]["AESTDY"]) == ("2025-06-21", 2)
    assert (seven["DMDTC"], seven["DMDY"]) == ("2025-06-02", -18)
    for domain in DOMAINS:
        for row in table(datasets[domain]):
            days = [value for name, value in row.items() if name.endswith("DY")]
            assert 0 not in days, (domain, row)


def test_dm_arm_and_reference_dates_follow_each_participants_path(
    datasets: dict[str, dict[str, Any]],
) -> None:
    dm = {row["SUBJID"]: row for row in table(datasets["DM"])}

    seven, second, only = dm["NJ01-007"], dm["NJ02-101"], dm["NJ01-120"]
    assert (seven["ARMCD"], seven["ACTARMCD"], seven["ARMNRS"]) == ("CHT101", "CHT101", None)
    assert (seven["SEX"], seven["AGE"], seven["AGEU"]) == ("F", 37, "YEARS")  # born 1988-04-17
    assert seven["BRTHDTC"] == "1988-04-17" and seven["SITEID"] == "NJ01"
    assert seven["RFPENDTC"] == "2026-07-01"  # withdrawn after M12
    assert (second["SITEID"], second["ARMNRS"]) == ("NJ02", None)
    assert (only["ARMCD"], only["ARMNRS"], only["RFSTDTC"], only["DMDY"]) == (
        None, "NOT ASSIGNED", None, None)  # fmt: skip


def test_ds_has_the_consent_and_one_disposition_a_withdrawal_after_m12_overrides(
    datasets: dict[str, dict[str, Any]],
) -> None:
    seven = [(r["DSDECOD"], r["DSCAT"], r["DSSTDTC"]) for r in table(datasets["DS"])
             if r["USUBJID"] == "CHT101-NJ01-007"]  # fmt: skip

    # NJ01-007 scored M12 on 2026-06-15 and withdrew consent on 2026-07-01: WITHDRAWN, as
    # ParticipantStatus says ("after a withdrawal whatever came before").
    assert seven == [
        ("INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", "2025-06-02"),
        ("WITHDRAWAL BY SUBJECT", "DISPOSITION EVENT", "2026-07-01"),
    ]


def test_ie_lists_the_criteria_the_first_screening_did_not_meet(
    datasets: dict[str, dict[str, Any]],
) -> None:
    rows = table(datasets["IE"])

    # NJ02-101's first screening (2025-06-05): not refractory, and its negative hCG of
    # 2025-06-08 is after the screening date (§9: screening date − 7 ≤ hCG date ≤ screening date).
    # Its second screening, and NJ01-007's, met every criterion.
    assert [(r["USUBJID"], r["IETESTCD"], r["IECAT"], r["IEORRES"], r["IEDTC"], r["VISIT"])
            for r in rows] == [
        ("CHT101-NJ02-101", "IN04", "INCLUSION", "N", "2025-06-05", "SCREENING"),
        ("CHT101-NJ02-101", "IN07HCG", "INCLUSION", "N", "2025-06-05", "SCREENING"),
    ]  # fmt: skip


def test_lb_holds_the_screening_labs_with_units_and_upper_limits(
    datasets: dict[str, dict[str, Any]],
) -> None:
    seven = {r["LBTESTCD"]: r for r in table(datasets["LB"]) if r["USUBJID"] == "CHT101-NJ01-007"}

    assert (seven["WBC"]["LBSTRESN"], seven["WBC"]["LBORRESU"]) == (4.2, "10^9/L")
    assert (seven["BILI"]["LBSTRESN"], seven["BILI"]["LBSTNRHI"]) == (0.6, 1.2)
    assert (seven["HCG"]["LBORRES"], seven["HCG"]["LBDTC"]) == ("NEGATIVE", "2025-06-08")
    assert seven["WBC"]["LBDTC"] == "2025-06-10" and seven["WBC"]["LBDY"] == -10


def test_rs_holds_sledai_2k_bilag_2004_and_pga_with_derived_totals(
    datasets: dict[str, dict[str, Any]],
) -> None:
    baseline = {(r["RSCAT"], r["RSTESTCD"]): r for r in table(datasets["RS"])
                if r["USUBJID"] == "CHT101-NJ01-007" and r["VISIT"] == "BASELINE"}  # fmt: skip

    # BASELINE: proteinuria (4), arthritis (4), rash (2); BILAG renal A (12), MSK B (8).
    total = baseline["SLEDAI-2K", "SLEDTOT"]
    assert (total["RSSTRESN"], total["RSDRVFL"]) == (10, "Y")
    present = {key[1] for key, r in baseline.items() if r["RSORRES"] == "PRESENT"}
    assert len(present) == 3
    assert baseline["BILAG-2004", "BILAGTOT"]["RSSTRESN"] == 20
    assert baseline["PGA", "PGA"]["RSORRES"] == "1.5"
    assert len([key for key in baseline if key[0] == "SLEDAI-2K"]) == 24 + 1
    proteinuria = baseline["SLEDAI-2K", "SLED13"]  # weight 4 (§1)
    renal = baseline["BILAG-2004", "BILAG08"]  # grade A, 12 (§3)
    assert (proteinuria["RSORRES"], proteinuria["RSSTRESC"], proteinuria["RSSTRESN"]) == (
        "PRESENT", "4", 4)  # fmt: skip
    assert (renal["RSORRES"], renal["RSSTRESC"], renal["RSSTRESN"]) == ("A", "12", 12)
    for row in table(datasets["RS"]):  # --STRESN is --STRESC as a number
        assert float(row["RSSTRESC"]) == row["RSSTRESN"], row


def test_ae_and_suppae_carry_seriousness_ctcae_and_astct_grades(
    datasets: dict[str, dict[str, Any]],
) -> None:
    seven = {r["AESPID"]: r for r in table(datasets["AE"]) if r["USUBJID"] == "CHT101-NJ01-007"}
    supplements = {(r["IDVARVAL"], r["QNAM"]): r["QVAL"] for r in table(datasets["SUPPAE"])
                   if r["USUBJID"] == "CHT101-NJ01-007"}  # fmt: skip
    terms = [r["AETERM"] for r in table(datasets["AE"])]

    crs = seven["AE-001"]
    assert (crs["AESER"], crs["AESHOSP"], crs["AESDTH"], crs["AETOXGR"]) == ("Y", "Y", "N", "3")
    assert crs["AEENDTC"] == "2025-06-25" and crs["AEDECOD"] is None
    assert supplements[str(crs["AESEQ"]), "CRSGR"] == "2"  # fever + hypotension, no vasopressor
    assert supplements[str(seven["AE-002"]["AESEQ"]), "ICANSGR"] == "2"  # ICE score 5
    assert MARKUP_TERM in terms


def test_sdtm_as_of_an_instant_shows_the_record_as_it_was_then(study: Study) -> None:
    trail = "{ auditTrail(limit: 1000) { entries { eventType recordedAt } } }"
    entries = study.client(Role.AUDITOR).data(trail)["auditTrail"]["entries"]
    scored = [e["recordedAt"] for e in entries if e["eventType"] == "VisitScored"]
    [withdrawn] = [e["recordedAt"] for e in entries if e["eventType"] == "Withdrawn"]

    at_m9, at_m12 = scored[5], scored[6]  # NJ01-007's M9 and M12, before its withdrawal
    decoded = {as_of: {r["DSDECOD"] for r in table(dataset(study, "DS", asOf=as_of))}
               for as_of in (at_m9, at_m12, withdrawn)}  # fmt: skip

    assert "COMPLETED" not in decoded[at_m9] and "COMPLETED" in decoded[at_m12]
    assert "WITHDRAWAL BY SUBJECT" in decoded[withdrawn] and "COMPLETED" not in decoded[withdrawn]
    assert {r["SUBJID"] for r in table(dataset(study, "DM", asOf=at_m12))} == {"NJ01-007"}
    assert table(dataset(study, "DM", asOf="2020-01-01T00:00:00Z")) == []


def test_sdtm_for_a_sponsor_holds_no_date_of_birth(study: Study) -> None:
    for domain in DOMAINS:
        response = study.get(f"/export/sdtm/{domain}.json", Role.SPONSOR)
        assert response.status_code == 200
        assert b"1988-04-17" not in response.content and b"1979-11-23" not in response.content
    names = [c["name"] for c in dataset(study, "DM", Role.SPONSOR)["columns"]]
    assert "BRTHDTC" not in names and "SEX" in names
    define = study.get("/export/sdtm/define.xml", Role.SPONSOR).content
    assert b"BRTHDTC" not in define


def test_sdtm_for_a_monitor_holds_its_sites_only(study: Study) -> None:
    dm = table(dataset(study, "DM", Role.MONITOR, "NJ02"))
    rs = table(dataset(study, "RS", Role.MONITOR, "NJ02"))

    assert [row["SUBJID"] for row in dm] == ["NJ02-101"]
    assert {row["USUBJID"] for row in rs} == {"CHT101-NJ02-101"}
    assert dm[0]["BRTHDTC"] == "1979-11-23"  # a MONITOR reads personal data


def test_sdtm_values_are_in_the_code_lists_define_xml_gives_their_variables(
    study: Study, datasets: dict[str, dict[str, Any]]
) -> None:
    define = etree.fromstring(study.get("/export/sdtm/define.xml", Role.AUDITOR).content)
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    lists = {
        cl.get("OID"): {item.get("CodedValue") for item in cl.iterfind("odm:EnumeratedItem", ns)}
        for cl in define.iterfind(".//odm:CodeList", ns)
    }
    coded = {
        item.get("OID"): lists[ref.get("CodeListOID")]
        for item in define.iterfind(".//odm:ItemDef", ns)
        if (ref := item.find("odm:CodeListRef", ns)) is not None
    }
    checked = 0

    for document in datasets.values():
        for n, column in enumerate(document["columns"]):
            allowed = coded.get(column["itemOID"])
            if allowed is None:
                continue
            for row in document["rows"]:
                assert row[n] is None or row[n] in allowed, (column["name"], row[n])
                checked += row[n] is not None

    assert len(coded) > 30 and checked > 1000


def test_sdtm_export_appends_its_read_to_the_access_log(study: Study) -> None:
    before = study.logged("exportSdtm")

    dataset(study, "AE", Role.MONITOR)

    rows = study.logged("exportSdtm")
    assert len(rows) == len(before) + 1
    last = rows[-1]
    assert (last["actorRole"], last["detail"]["domains"], last["detail"]["format"]) == (
        "MONITOR", ["AE"], "dataset-json")  # fmt: skip
    assert set(last["participantIds"]) == {study.seven.pid, study.second, study.consented_only}


@pytest.mark.parametrize(
    ("path", "role", "site", "status", "code"),
    [
        ("/export/sdtm/dm.json", Role.SITE_STAFF, "NJ01", 403, "FORBIDDEN"),
        ("/export/sdtm/dm.json", Role.SAFETY_REVIEWER, None, 403, "FORBIDDEN"),
        ("/export/sdtm/vs.json", Role.AUDITOR, None, 404, "NOT_FOUND"),
        ("/export/sdtm/dm.csv", Role.AUDITOR, None, 400, "BAD_INPUT"),
        ("/export/sdtm/define.xml?format=sas7bdat", Role.AUDITOR, None, 400, "BAD_INPUT"),
    ],
)
def test_sdtm_export_is_refused_with_the_contract_code(
    study: Study, path: str, role: Role, site: str | None, status: int, code: str
) -> None:
    route, _, query = path.partition("?")
    params = dict(part.split("=") for part in query.split("&")) if query else {}

    response = study.get(route, role, site, **params)

    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code


def test_sdtm_xpt_with_a_value_over_200_bytes_is_refused_with_its_reason(
    client: GraphQLClient,
) -> None:
    staff = client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse.li")
    pid = enrol(staff, "NJ01-007")
    term = "Cytokine release syndrome " + "with fever and hypotension " * 9
    staff.data(REPORT_AE, {"input": ae_input(pid, term=term)})
    token = client.token(Role.AUDITOR, None, "auditor-1")
    base = client.url.removesuffix("/graphql")

    refused = httpx.get(f"{base}/export/sdtm/ae.xpt", headers={"Authorization": f"Bearer {token}"})
    served = httpx.get(f"{base}/export/sdtm/ae.json", headers={"Authorization": f"Bearer {token}"})

    assert refused.status_code == 422
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT" and "AE.AETERM" in error["message"]
    assert served.status_code == 200 and term in served.json()["rows"][0]
