"""Staff actions from the web app: who may act, the reply preview, and the action itself.

Every action goes through the same services as the CLI — ``staff_actions.act_on_case``
(one unit of work: the event with the signed-in user and any mail, queued in the
durable outbox) or ``recategorize`` (a correction the categorizer learns from) — and
is written to the audit log. The daemon's next cycle sends the queued mail: only the
daemon talks to SMTP, so two processes never send one outbox entry twice.

The rule (README "Staff web app"): a supervisor acts on every case; an agent acts on
the cases assigned to them and on unassigned ones, and sees every case (read-only)
so nobody answers a customer without seeing the whole history.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.languages import reply_language
from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.model import Case
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.staff import StaffAction, StaffActionError, apply_action
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.recategorize import RecategorizeError, recategorize
from inbox_agent.services.staff_actions import NoSuchCase, act_on_case
from inbox_agent.services.web_ports import AuditLog, StaffDirectory

WEB_ACTIONS = ("assign", "note", "reply", "resolve", "reopen", "category", "severity")


class Forbidden(Exception):
    """The signed-in user may not act on this case (the web app answers 403)."""


class ActionRefused(Exception):
    """The action does not fit the case, or the preview is out of date (the message says why)."""


class NotAudited(Exception):
    """The action was carried out and committed; only its audit line could not be written.

    Answering that as a failure ("that did not work: disk full") would have staff do it
    again — a second reply to the customer — so it is told apart, in words to show."""

    def __init__(self, cause: OSError) -> None:
        self.cause = cause.strerror or str(cause)
        super().__init__(
            f"It is done and on the case, but the audit log could not be written ({self.cause}): "
            "do not repeat it, and tell ops."
        )


def record_done(audit: AuditLog, entry: dict[str, Any]) -> None:
    """The audit line of an action already committed (NotAudited when it cannot be written)."""
    try:
        audit.record(entry)
    except OSError as exc:
        raise NotAudited(exc) from exc


@dataclass(frozen=True)
class Actor:
    name: str
    role: str  # "agent" | "supervisor"


@dataclass(frozen=True)
class Preview:
    subject: str
    text: str  # exactly the text the customer will get
    digest: str  # sent back with the form: the reply goes out only as previewed
    language: str

    @property
    def subject_shown(self) -> str:
        """The subject quotes the customer's: masked on screen like everywhere else."""
        return mask_text(self.subject)


def may_act(actor: Actor, case: Case) -> bool:
    return actor.role == "supervisor" or case.assignee in ("", actor.name)


class WebActions:
    def __init__(
        self,
        store: CaseStore,
        config: Config,
        templates: TemplateSet,
        audit: AuditLog,
        keep_example: Callable[[dict[str, str]], None],
        directory: StaffDirectory,
    ) -> None:
        self.store = store
        self.config = config
        self.templates = templates
        self.audit = audit
        self.keep_example = keep_example
        self.directory = directory

    def _case_for(self, actor: Actor, case_id: str) -> Case:
        case = self.store.get_case(case_id)
        if case is None:
            raise NoSuchCase(f"no case {case_id}")
        if not may_act(actor, case):
            raise Forbidden(
                f"{case_id} is assigned to {case.assignee}; only they or a supervisor may act on it"
            )
        return case

    def preview_reply(self, actor: Actor, case_id: str, text: str, now: datetime) -> Preview:
        """The staff_reply mail in the customer's language, rendered, nothing stored."""
        case = self._case_for(actor, case_id)
        action = StaffAction(kind="reply", actor=actor.name, text=text.strip())
        try:
            _, mails = apply_action(
                case, action, config=self.config, templates=self.templates, now=now, cause="preview"
            )
        except StaffActionError as exc:
            raise ActionRefused(str(exc)) from exc
        subject, body = _subject_and_text(mails[0].raw)
        # The digest binds the text to the conversation as previewed: once a reply (this
        # one, sent by a double click or a resubmitted form) or a customer's mail joins the
        # thread, the same form no longer sends; the customer never gets a reply twice.
        digest = _digest(f"{len(case.message_ids)}\n{body}")
        # The language the reply was rendered in, as the staff action chose it.
        language = reply_language(case.language, self.config.acknowledge.default_language)
        return Preview(subject=subject, text=body, digest=digest, language=language)

    def act(
        self, actor: Actor, case_id: str, kind: str, fields: dict[str, str], now: datetime, client: str
    ) -> Case:
        """Carry out one action; ``fields`` are the form's (text, assignee, value, digest)."""
        if kind not in WEB_ACTIONS:
            raise ActionRefused(f"unknown action {kind!r}")
        case = self._case_for(actor, case_id)
        entry: dict[str, Any] = {"at": iso(now), "event": "action", "user": actor.name, "client": client}
        entry.update(case=case_id, action=kind)
        try:
            updated = self._carry_out(actor, case, kind, fields, now)
        except (StaffActionError, RecategorizeError, ActionRefused) as exc:
            self.audit.record({**entry, "outcome": "refused", "reason": str(exc)})
            raise ActionRefused(str(exc)) from exc
        record_done(self.audit, {**entry, "outcome": "ok"})
        return updated

    def _carry_out(self, actor: Actor, case: Case, kind: str, fields: dict[str, str], now: datetime) -> Case:
        text = fields.get("text", "").strip()
        if kind == "category":
            return recategorize(
                self.store, case.case_id, fields.get("value", ""), actor.name, now, self.keep_example
            )
        if kind == "reply":
            self._check_preview(actor, case.case_id, text, fields.get("digest", ""), now)
        assignee = fields.get("assignee", "").strip()
        if kind == "assign" and assignee == "me":
            assignee = actor.name
        if kind == "assign" and actor.role != "supervisor" and assignee != actor.name:
            raise Forbidden("an agent assigns cases to themselves only; a supervisor assigns them to others")
        if kind == "assign" and self.directory.get(assignee) is None:
            # The form offers accounts only; a crafted or stale form must not file a case
            # under a name nobody signs in as (by mail and the CLI any name goes, by design).
            raise ActionRefused(f"there is no staff account {assignee!r} to assign the case to")
        action = StaffAction(
            kind=kind,
            actor=actor.name,
            text=text,
            assignee=assignee,
            value=fields.get("value", ""),
            redress=fields.get("redress", ""),
        )
        result = act_on_case(self.store, self.config, self.templates, case.case_id, action, now, door="web")
        return result.case

    def _check_preview(self, actor: Actor, case_id: str, text: str, digest: str, now: datetime) -> None:
        current = self.preview_reply(actor, case_id, text, now)
        if not digest or digest != current.digest:
            raise ActionRefused(
                "the reply or the conversation changed since its preview (a reply went out, or the "
                "customer wrote): look at the case and the new preview, and send again"
            )


def _subject_and_text(raw: bytes) -> tuple[str, str]:
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    body = mail.get_body(preferencelist=("plain",))
    return str(mail.get("subject", "")), body.get_content() if body is not None else ""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
