"""ClinicalData: one participant's events as ODM transactions, or its values as a snapshot.

``SubjectRecord`` folds a participant's events one at a time. After each event it re-derives
only the forms that event can change (its dependency table is ``_affected``; a form may come
back with only the groups or items the event can change, the others keeping what was written),
compares them with what it has written so far and returns the difference: items with a first
value (Insert), a new value (Update) or a value cleared to null (Update with IsNull), and
repeating item groups that no longer exist (Remove). Every changed item carries the event's
AuditRecord; so does the transaction itself, so that an event that changed no value is still in
the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from domain.participant import Participant
from domain.vocabulary import Visit
from projections.cdisc import odm_values as values
from projections.cdisc.odm_values import Key, Part, Place
from projections.cdisc.xml import attr

OVERDUE = "IT.AE_DER.OVERDUE"
_ADVERSE_EVENTS = (
    Participant.AdverseEventReported,
    Participant.AdverseEventUpdated,
)  # read at the file's AsOfDateTime: snapshots only

# item OID → (value, the AuditRecord of the event that last changed it); None: cleared to null
Items = dict[str, tuple[str | None, str]]
ItemChange = tuple[str, str, str | None]  # item OID, TransactionType, value (None: IsNull)
GroupChange = tuple[Key, str, list[ItemChange]]
Changes = dict[Key, tuple[str, dict[Key, tuple[str, list[GroupChange]]]]]


class SubjectRecord:
    """What the export has written of one participant so far, and what each event changes."""

    def __init__(self, *, pii: bool, reference: datetime) -> None:
        self.pii = pii
        self.reference = reference
        self.participant: Participant | None = None
        self.forms: dict[Place, dict[Key, Items]] = {}
        self._events_written: set[Key] = set()

    def apply(self, event: Participant.Event, audit: str) -> Changes:
        """Fold ``event`` in; the changes it makes to the exported values."""
        self.participant = event.mutate(self.participant)
        changes: Changes = {}
        for location, groups in self._affected(event):
            self._compare(location, groups, audit, changes)
        return changes

    def _affected(self, event: Participant.Event) -> Iterator[Part]:
        """The forms ``event`` can change, re-derived. Visit outcomes look back at the baseline
        (the BASELINE visit, else the screening), the infusion date, the withdrawal and earlier
        visits; an AE's days from infusion at the infusion date."""
        p = self.participant
        assert p is not None
        if not isinstance(
            event, Participant.AdverseEventReported | Participant.AdverseEventUpdated
        ):
            yield values.subject(p)  # status and age: an adverse event changes neither
        match event:
            case Participant.Consented():
                yield values.consent(p, pii=self.pii)
            case Participant.Screened():
                yield values.screening(p, len(p.screenings) - 1)
                yield from values.visits(p)
            case Participant.Infused():
                yield values.infusion(p)
                yield from values.visits(p)
                for ae_id in p.adverse_events:
                    yield self._adverse_event(ae_id, report=False)
            case Participant.VisitScored() | Participant.VisitCorrected():
                yield from values.visits(p, since=Visit(event.visit))
            case Participant.AdverseEventReported():
                yield self._adverse_event(event.ae_id, report=True)
            case Participant.AdverseEventUpdated():
                yield self._adverse_event(event.ae_id, report=False)
            case Participant.Withdrawn():
                yield values.withdrawal(p)
                yield from values.visits(p)
            case _:
                raise TypeError(f"no ODM mapping for {type(event).__qualname__}")

    def _adverse_event(self, ae_id: str, *, report: bool) -> Part:
        assert self.participant is not None
        location, groups = values.adverse_event(
            self.participant, ae_id, self.reference, report=report
        )
        del groups["IG.AE_DER", None][OVERDUE]
        return location, groups

    def _compare(self, location: Place, groups: values.Groups, audit: str,
                 changes: Changes) -> None:  # fmt: skip
        written = self.forms.get(location)
        form = {} if written is None else written
        changed: list[GroupChange] = []
        for key, items in groups.items():
            stored = form.get(key)
            found: list[ItemChange] = []
            for oid, value in items.items():
                old = stored.get(oid) if stored is not None else None
                if old is None:  # never written
                    if value is not None:
                        found.append((oid, "Insert", value))
                elif value != old[0]:
                    found.append((oid, "Update", value))
            if not found:
                continue
            if stored is None:
                stored = form[key] = {}
                changed.append((key, "Insert", found))
            else:
                changed.append((key, "Context", found))
            for oid, _, value in found:
                stored[oid] = (value, audit)
        # A repeating group no longer derived (a data query resolved) is removed; a group that
        # does not repeat is only ever re-derived whole or left out as unchanged.
        for key in [key for key in form if key[1] is not None and key not in groups]:
            del form[key]
            changed.append((key, "Remove", []))
        if not changed:
            return
        if written is None:
            self.forms[location] = form
        event, form_key = location
        if event not in changes:
            first = event not in self._events_written
            self._events_written.add(event)
            changes[event] = ("Insert" if first else "Context", {})
        changes[event][1][form_key] = ("Insert" if written is None else "Context", changed)

    def snapshot(self) -> dict[Key, dict[Key, dict[Key, list[tuple[str, str, str]]]]]:
        """Every value as it stands (nulls left out) with its last AuditRecord, by study event,
        form and item group; the SAE overdue flag read at the reference instant, without one."""
        p = self.participant
        assert p is not None
        events: dict[Key, dict[Key, dict[Key, list[tuple[str, str, str]]]]] = {}
        for (event, form_key), form in self.forms.items():
            for key, items in form.items():
                listed = [(oid, value, audit) for oid, (value, audit) in items.items()
                          if value is not None]  # fmt: skip
                if key[0] == "IG.AE_DER":
                    ae_id = form_key[1]
                    assert ae_id is not None
                    overdue = values.adverse_event(p, ae_id, self.reference)[1][key][OVERDUE]
                    assert overdue is not None
                    listed.append((OVERDUE, overdue, ""))
                if listed:
                    events.setdefault(event, {}).setdefault(form_key, {})[key] = listed
        return events


def _open(tag: str, oid_name: str, key: Key, repeat_name: str, tx: str | None = None) -> str:
    """A clinical data start tag: its OID, its repeat key when it has one, its transaction."""
    oid, repeat = key
    written = f"<{tag} {oid_name}={attr(oid)}"
    if repeat is not None:
        written += f" {repeat_name}={attr(repeat)}"
    if tx is not None:
        written += f' TransactionType="{tx}"'
    return written + ">"


def _event(key: Key, tx: str | None = None) -> str:
    return _open("StudyEventData", "StudyEventOID", key, "StudyEventRepeatKey", tx)


def _form(key: Key, tx: str | None = None) -> str:
    return _open("FormData", "FormOID", key, "FormRepeatKey", tx)


def _group(key: Key, tx: str | None = None) -> str:
    return _open("ItemGroupData", "ItemGroupOID", key, "ItemGroupRepeatKey", tx)


def _subject(subject_key: str, site: str, tx: str | None = None, audit: str = "") -> list[str]:
    """SubjectData's start: its key and transaction type, its AuditRecord if any, its site."""
    kind = "" if tx is None else f' TransactionType="{tx}"'
    lines = [f"<SubjectData SubjectKey={attr(subject_key)}{kind}>"]
    if audit:
        lines.append(audit)
    lines.append(f"<SiteRef LocationOID={attr(site)}/>")
    return lines


def transaction(subject_key: str, site: str, audit: str, changes: Changes, *, first: bool) -> str:
    """One event as a SubjectData transaction: its AuditRecord, then every change it made."""
    out = _subject(subject_key, site, "Insert" if first else "Context", audit)
    for event, (event_tx, forms) in changes.items():
        out.append(_event(event, event_tx))
        for form, (form_tx, groups) in forms.items():
            out.append(_form(form, form_tx))
            for group, group_tx, items in groups:
                out.append(_group(group, group_tx))
                for oid, item_tx, value in items:
                    if value is None:
                        written = 'TransactionType="Update" IsNull="Yes"'
                    else:
                        written = f'TransactionType="{item_tx}" Value="{value}"'
                    out.append(f'<ItemData ItemOID="{oid}" {written}>{audit}</ItemData>')
                out.append("</ItemGroupData>")
            out.append("</FormData>")
        out.append("</StudyEventData>")
    out.append("</SubjectData>\n")
    return "\n".join(out)


def snapshot(subject_key: str, site: str, record: SubjectRecord) -> str:
    """The participant's values as they stand: SubjectData without transaction types."""
    out = _subject(subject_key, site)
    for event, forms in record.snapshot().items():
        out.append(_event(event))
        for form, groups in forms.items():
            out.append(_form(form))
            for group, items in groups.items():
                out.append(_group(group))
                out.extend(f'<ItemData ItemOID="{oid}" Value="{value}">{audit}</ItemData>'
                           for oid, value, audit in items)  # fmt: skip
                out.append("</ItemGroupData>")
            out.append("</FormData>")
        out.append("</StudyEventData>")
    out.append("</SubjectData>\n")
    return "\n".join(out)
