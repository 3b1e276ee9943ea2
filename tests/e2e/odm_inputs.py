"""What the ODM file must hold of what a site entered: the items each GraphQL input's values
belong in, read off the file's metadata (IT.<group>.<name>), written here from the contract's
inputs, not from the exporter's code."""

from __future__ import annotations

from typing import Any

from tests.e2e.odm_files import Key, State

# Labs input → item name in IG.LABS.
LABS = {
    "wbc": "WBC", "anc": "ANC", "hemoglobin": "HEMOGLOBIN", "platelets": "PLATELETS",
    "alt": "ALT", "altUln": "ALT_ULN", "ast": "AST", "astUln": "AST_ULN",
    "bilirubin": "BILIRUBIN", "bilirubinUln": "BILIRUBIN_ULN",
    "creatinineMgDl": "CREATININE_MG_DL", "weightKg": "WEIGHT_KG", "inr": "INR",
    "inrUln": "INR_ULN", "pt": "PT", "ptUln": "PT_ULN", "lvef": "LVEF",
    "hcgNegativeOn": "HCG_NEGATIVE_ON", "csfWithin2Weeks": "CSF_WITHIN_2_WEEKS",
    "gilbertSyndrome": "GILBERT_SYNDROME",
}  # fmt: skip
# Visit input → item name in IG.VISIT.
VISIT = {
    "visitDate": "DATE", "pgaScore": "PGA", "prednisoneMgPerDay": "PREDNISONE",
    "arthritisJointCount": "ARTHRITIS_JOINTS", "proteinuriaNewOrIncreased": "PROTEINURIA_NEW",
    "antimalarialOnly": "ANTIMALARIAL_ONLY", "haemolyticAnaemia": "HAEMOLYTIC_ANAEMIA",
    "giActivity": "GI_ACTIVITY", "investigationalDrug": "INVESTIGATIONAL_DRUG",
    "rescueTherapy": "RESCUE", "lupusNephritis": "LUPUS_NEPHRITIS", "upcrGPerG": "UPCR",
    "egfr": "EGFR", "creatinineMgDl": "CREATININE",
}  # fmt: skip
CRS = {"temperatureC": "TEMPERATURE", "feverModifiedByTreatment": "FEVER_MODIFIED",
       "hypotension": "HYPOTENSION", "vasopressors": "VASOPRESSORS",
       "vasopressin": "VASOPRESSIN", "oxygen": "OXYGEN"}  # fmt: skip
ICANS = {"iceScore": "ICE", "consciousness": "CONSCIOUSNESS", "seizure": "SEIZURE",
         "motorWeakness": "MOTOR_WEAKNESS", "edema": "EDEMA"}  # fmt: skip
SLEDAI = ("SEIZURE", "PSYCHOSIS", "ORGANIC_BRAIN_SYNDROME", "VISUAL_DISTURBANCE",
          "CRANIAL_NERVE_DISORDER", "LUPUS_HEADACHE", "CVA", "VASCULITIS", "ARTHRITIS",
          "MYOSITIS", "URINARY_CASTS", "HEMATURIA", "PROTEINURIA", "PYURIA", "RASH", "ALOPECIA",
          "MUCOSAL_ULCERS", "PLEURISY", "PERICARDITIS", "LOW_COMPLEMENT",
          "INCREASED_DNA_BINDING", "FEVER", "THROMBOCYTOPENIA", "LEUKOPENIA")  # fmt: skip

Expected = dict[tuple[Key, Key, Key, str], Any]


def _flags(prefix: str, members: tuple[str, ...], present: list[str]) -> dict[str, bool]:
    return {f"IT.{prefix}.{m}": m in present for m in members}


def consent(expected: Expected, given: dict[str, Any]) -> None:
    names = {"subjectId": "SUBJID", "site": "SITE", "consentVersion": "VERSION",
             "signedOn": "SIGNEDON", "dateOfBirth": "BRTHDTC", "sex": "SEX",
             "initials": "INITIALS"}  # fmt: skip
    where = (("SE.ENROLMENT", None), ("F.CONSENT", None))
    _put(expected, where, {"IG.CONSENT": {f"IT.CONSENT.{names[k]}": v for k, v in given.items()}})


def infusion(expected: Expected, given: dict[str, Any]) -> None:
    names = {"infusedAt": "INFUSEDAT", "doseCellsPerKg": "DOSE", "lot": "LOT"}
    where = (("SE.INFUSION", None), ("F.INFUSION", None))
    values = {f"IT.INFUSION.{names[k]}": v for k, v in given.items() if k in names}
    _put(expected, where, {"IG.INFUSION": values})


def withdrawal(expected: Expected, given: dict[str, Any]) -> None:
    names = {"withdrawnOn": "DATE", "reason": "REASON", "note": "NOTE"}
    where = (("SE.WITHDRAWAL", None), ("F.WITHDRAWAL", None))
    values = {f"IT.WITHDRAWAL.{names[k]}": v for k, v in given.items() if k in names}
    _put(expected, where, {"IG.WITHDRAWAL": values})


def screening(expected: Expected, at: Key, given: dict[str, Any]) -> None:
    where = (at, ("F.SCREENING", None))
    values: dict[str, dict[str, Any]] = {
        "IG.SCREENING": {"IT.SCREENING.DATE": given["screenedOn"],
                         "IT.SCREENING.REFRACT": given["refractory"],
                         "IT.SCREENING.CHILDBP": given["childbearingPotential"],
                         "IT.SCREENING.LACTAT": given["lactating"],
                         "IT.SCREENING.CONTRA": given["contraceptionAgreed"]},
        "IG.LABS": {f"IT.LABS.{LABS[k]}": v for k, v in given["labs"].items()},
        "IG.SLEDAI": _flags("SLEDAI", SLEDAI, given["sledai"]),
        "IG.BILAG": {f"IT.BILAG.{g['domain']}": g["grade"] for g in given["bilag"]},
        "IG.EXCLUSION": {f"IT.EXCLUSION.EXC{n}": n in given["exclusions"] for n in range(1, 15)},
    }  # fmt: skip
    values["IG.EULAR"] = {f"IT.EULAR.{c}": True for c in given["eularAcrCriteria"]}
    _put(expected, where, values)


def visit(expected: Expected, given: dict[str, Any]) -> None:
    where = ((f"SE.{given['visit']}", None), ("F.VISIT", None))
    values: dict[str, dict[str, Any]] = {
        "IG.VISIT": {f"IT.VISIT.{VISIT[k]}": v for k, v in given.items() if k in VISIT},
        "IG.SLEDAI": _flags("SLEDAI", SLEDAI, given["sledai"]),
        "IG.BILAG": {f"IT.BILAG.{g['domain']}": g["grade"] for g in given["bilag"]},
    }
    if given.get("sdiItems") is not None:
        values["IG.SDI"] = {f"IT.SDI.{item}": True for item in given["sdiItems"]}
        values["IG.SDI"]["IT.SDI.CATARACT"] = "CATARACT" in given["sdiItems"]
    _put(expected, where, values)


def adverse_event(expected: Expected, given: dict[str, Any]) -> None:
    where = (("SE.AE", None), ("F.AE", given["aeId"]))
    values: dict[str, dict[str, Any]] = {"IG.AE": {
        "IT.AE.TERM": given["term"], "IT.AE.CATEGORY": given["category"],
        "IT.AE.ONSET": given["onsetOn"], "IT.AE.AWARE_AT": given["awareAt"],
        "IT.AE.CTCAE": given["ctcaeGrade"], "IT.AE.RELATEDNESS": given["relatedness"],
        **{f"IT.AE.SERIOUS.{c}": True for c in given["serious"]},
    }}  # fmt: skip
    if given.get("crs"):
        values["IG.CRS"] = {f"IT.CRS.{CRS[k]}": v for k, v in given["crs"].items()}
    if given.get("icans"):
        values["IG.ICANS"] = {f"IT.ICANS.{ICANS[k]}": v for k, v in given["icans"].items()}
    _put(expected, where, values)


def adverse_event_update(expected: Expected, given: dict[str, Any]) -> None:
    where = (("SE.AE", None), ("F.AE", given["aeId"]))
    names = {"resolvedOn": "IT.AE.RESOLVED_ON", "reportedToSponsorAt": "IT.AE.REPORTED_AT",
             "ctcaeGrade": "IT.AE.CTCAE"}  # fmt: skip
    _put(expected, where, {"IG.AE": {names[k]: v for k, v in given.items() if k in names}})


def _put(expected: Expected, where: tuple[Key, Key], values: dict[str, dict[str, Any]]) -> None:
    for group, items in values.items():
        for item, value in items.items():
            expected[where[0], where[1], (group, None), item] = value


def differences(state: State, expected: Expected) -> list[str]:
    """Each expected value the replayed state does not hold, compared by its kind."""
    found = []
    for (event, form, group, item), value in expected.items():
        held = state.get(event, {}).get(form, {}).get(group, {}).get(item)
        if not _same(held, value):
            found.append(f"{event[0]}/{form}/{group[0]}/{item}: {held!r} for {value!r}")
    return found


def _same(held: str | None, value: Any) -> bool:
    if held is None:
        return value is None
    if isinstance(value, bool):
        return held == ("true" if value else "false")
    if isinstance(value, int | float):
        return float(held) == float(value)
    if isinstance(value, str) and value.endswith("Z"):
        return held == value.replace("Z", "+00:00")
    return held == value
