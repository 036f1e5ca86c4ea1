"""Outbox retry: mail the server refused for good (or gave up on after days of 4xx)
put back to pending once ops fixed the cause, in one commit.

The entry keeps its bytes, recipients and Message-ID (a second try is the same mail,
never a second one); its attempts, backoff and give-up clock start again, so the next
send tries it. Each retried mail is a ``mail_retried`` event on its case, with who
asked and the error it had failed with. Nothing is retried when anything asked for
cannot be: an unknown id, mail that is not failed, mail whose bytes retention erased
or whose case is not stored — each named with its cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox_agent.domain.outbox import FAILED, requeued
from inbox_agent.policies.retention import PURGED_FLAG
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.unit_of_work import UnitOfWork


class RetryRefused(Exception):
    """Nothing was retried; ``problems`` says why, one line per id or selector."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class RetrySelection:
    """What to put back: these ids, the failed mail of a case, every failed mail."""

    outbox_ids: tuple[str, ...] = ()
    case_id: str = ""
    all_failed: bool = False


def retry_failed_mail(
    store: CaseStore, selection: RetrySelection, actor: str, now: datetime
) -> list[dict[str, Any]]:
    """Put the selected failed mail back to pending; the entries as they were (with the
    error they failed with). Raises RetryRefused and changes nothing when any of it
    cannot be retried."""
    with UnitOfWork(store) as uow:
        entries = {entry["outbox_id"]: entry for entry in store.outbox_entries()}
        chosen, problems = _select(store, entries, selection)
        problems += _unsendable(store, chosen)
        if problems:
            raise RetryRefused(problems)
        if not chosen:
            raise RetryRefused(["no outbox mail is failed: nothing to retry"])
        for entry in chosen:
            uow.changes.outbox[entry["outbox_id"]] = requeued(entry, now)
            uow.add_event(entry["case_id"], now, "mail_retried", actor, _event_detail(entry))
        uow.commit()
    return chosen


def _select(
    store: CaseStore, entries: dict[str, dict[str, Any]], selection: RetrySelection
) -> tuple[list[dict[str, Any]], list[str]]:
    """The entries asked for, each once, in queue order; what cannot be retried, and why."""
    problems: list[str] = []
    chosen: dict[str, dict[str, Any]] = {}
    for outbox_id in selection.outbox_ids:
        entry = entries.get(outbox_id)
        if entry is None:
            problems.append(_unknown(store, outbox_id))
        elif entry["status"] != FAILED:
            problems.append(
                f"{outbox_id}: not failed ({entry['status']}, {entry['attempts']} attempts): "
                "the daemon still tries it on its own schedule"
            )
        else:
            chosen[outbox_id] = entry
    if selection.case_id:
        of_case = [e for e in entries.values() if e["case_id"] == selection.case_id and e["status"] == FAILED]
        if store.get_case(selection.case_id) is None:
            problems.append(f"--case {selection.case_id}: no such case")
        elif not of_case:
            problems.append(f"--case {selection.case_id}: the case has no failed outbox mail")
        chosen.update((entry["outbox_id"], entry) for entry in of_case)
    if selection.all_failed:
        chosen.update((e["outbox_id"], e) for e in entries.values() if e["status"] == FAILED)
    return sorted(chosen.values(), key=lambda entry: entry["queued_at"]), problems


def _unknown(store: CaseStore, outbox_id: str) -> str:
    """Why an id is not in the outbox, as far as the store can tell: an outbox id
    starts with its case's id (``CASE.kind.…``), and retention erases a purged case's
    failed mail with it (``raw_purged``)."""
    case = store.get_case(outbox_id.split(".", 1)[0])
    if case is None:
        return f"{outbox_id}: no such outbox mail"
    if PURGED_FLAG in case.flags:
        return (
            f"{outbox_id}: not in the outbox; retention erased the raw mail of {case.case_id} "
            "(its mail never sent with it): it cannot be sent again"
        )
    return f"{outbox_id}: not in the outbox (sent, or never queued: see `inbox-agent show {case.case_id}`)"


def _unsendable(store: CaseStore, chosen: list[dict[str, Any]]) -> list[str]:
    """Failed entries the daemon could not send even once retried: the case is gone
    (verify calls that damage), or its bytes were erased (retention cut off between
    erasing them and removing the entry; its next run removes it)."""
    problems: list[str] = []
    held = store.held_blobs({entry["raw_sha256"] for entry in chosen})
    for entry in chosen:
        if store.get_case(entry["case_id"]) is None:
            problems.append(
                f"{entry['outbox_id']}: its case {entry['case_id']} is not stored (run `inbox-agent verify`)"
            )
        elif entry["raw_sha256"] not in held:
            problems.append(
                f"{entry['outbox_id']}: its bytes were erased (retention of {entry['case_id']}): "
                "it cannot be sent again"
            )
    return problems


def _event_detail(entry: dict[str, Any]) -> str:
    tries = f"{entry['attempts']} attempt{'s' if entry['attempts'] != 1 else ''}"
    why = f": {entry['last_error']}" if entry.get("last_error") else ""
    return f"{entry['kind']} to {', '.join(entry['recipients'])} put back in the outbox (failed after {tries}{why})"
