"""Bootstrap: the one place that builds adapters from the config and hands them to
the services. Entry points (CLI, daemon) get a ``Runtime`` or a store from here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from inbox_agent.adapters.audit_log import AuditLogFile
from inbox_agent.adapters.directory_transport import DirectoryTransport
from inbox_agent.adapters.disk import (
    UNJOURNALED_ADVICE,
    UNUSABLE_STORAGE,
    storage_state,
    unjournaled_file_system,
)
from inbox_agent.adapters.files import write_atomically
from inbox_agent.adapters.fresh_store import FreshStore
from inbox_agent.adapters.imap import ImapMailbox
from inbox_agent.adapters.maildir import MaildirMailbox
from inbox_agent.adapters.model_store import ModelStore, append_correction, corrections_file
from inbox_agent.adapters.process_memory import give_back_freed_memory
from inbox_agent.adapters.quarantine_log import DroppedQuarantineFile
from inbox_agent.adapters.sent_log import SentLog
from inbox_agent.adapters.smtp import SmtpTransport
from inbox_agent.adapters.staff_accounts import StaffAccountsFile
from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import Clock, SystemClock
from inbox_agent.mail.render import TemplateSet
from inbox_agent.services.delivery import Delivery
from inbox_agent.services.intake import Intake
from inbox_agent.services.page import staff_page
from inbox_agent.services.ports import DroppedLog, Mailbox, Transport
from inbox_agent.services.recategorize import stored_corrections, with_stored_corrections
from inbox_agent.services.sent_copies import SentCopies
from inbox_agent.services.web_actions import WebActions
from inbox_agent.services.web_new_complaint import NewComplaintDesk
from inbox_agent.services.web_outbox import OutboxDesk
from inbox_agent.services.web_ports import AuditLog, StaffDirectory
from inbox_agent.services.web_quarantine import QuarantineDesk
from inbox_agent.services.web_queue import WebReads
from inbox_agent.services.web_unfiled import UnfiledDesk

log = logging.getLogger("inbox_agent.entrypoints.bootstrap")


def open_store(config: Config, *, read_only: bool = False) -> Store:
    """``read_only``: no lock, no write (status, cases, show, verify; a read-only data dir)."""
    settings = config.storage
    return Store(
        settings.data_dir,
        shard_size=settings.shard_size,
        lock_timeout=settings.lock_timeout,
        read_only=read_only,
    )


class StorageReport(NamedTuple):
    state: str  # room left and write access (adapters/disk.storage_state)
    usable: bool  # False: nothing can be stored there now
    warning: str | None  # the file system keeps no journal (adapters/disk.py)


def storage_report(config: Config) -> StorageReport:
    """What `check` and every `run` start say about the data directory."""
    data_dir = config.storage.data_dir
    state = storage_state(data_dir)
    kind = unjournaled_file_system(data_dir)
    warning = f"{data_dir} is on {kind} without a journal: {UNJOURNALED_ADVICE}" if kind else None
    return StorageReport(state, not state.startswith(UNUSABLE_STORAGE), warning)


def make_mailbox(config: Config) -> Mailbox:
    if config.mailbox.kind == "imap":
        assert config.mailbox.imap is not None
        return ImapMailbox(config.mailbox.imap)
    assert config.mailbox.maildir is not None
    return MaildirMailbox(config.mailbox.maildir)


def make_sent_mailbox(config: Config) -> Mailbox | None:
    """The IMAP account's Sent folder as a mailbox of its own, when configured.

    Its mail is only flagged when processed (never moved, whatever the inbox does),
    and it is never IDLEd on: the inbox is what must wake the daemon. With
    ``sent_folder = "auto"`` the adapter finds the folder through SPECIAL-USE.
    """
    settings = config.mailbox.imap
    if config.mailbox.kind != "imap" or settings is None or not settings.sent_folder:
        return None
    return ImapMailbox(replace(settings, folder=settings.sent_folder, processed_action="flag", idle=False))


def make_transport(config: Config, on_accepted: Callable[[str], None] | None = None) -> Transport:
    if config.smtp.kind == "smtp":
        return SmtpTransport(config.smtp, on_accepted=on_accepted)
    return DirectoryTransport(config.smtp)


@dataclass
class Runtime:
    config: Config
    store: Store
    mailbox: Mailbox
    sent_mailbox: Mailbox | None
    templates: TemplateSet
    intake: Intake
    delivery: Delivery
    clock: Clock
    dry_run: bool = False

    def close(self) -> None:
        try:
            self.delivery.close()  # mail still in the sender thread: its results committed
        except Exception as exc:  # noqa: BLE001 - the accepted-mail log keeps them: settled at next start
            log.warning("results of the last mails sent not committed (%s); the next start records them", exc)
        finally:
            self.mailbox.close()
            if self.sent_mailbox is not None:
                self.sent_mailbox.close()


def build_runtime(
    config: Config,
    *,
    dry_run: bool = False,
    clock: Clock | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] | None = None,
) -> Runtime:
    clock = clock or SystemClock()
    give_back_freed_memory()  # the daemon's memory goes back to the system (process_memory.py)
    store = open_store(config)
    mailbox = make_mailbox(config)
    sent_mailbox = make_sent_mailbox(config)
    sent_copies = None
    if sent_mailbox is not None and config.mailbox.imap is not None:
        # Copies of our replies that fail are owed and retried, never dropped.
        sent_copies = SentCopies(sent_mailbox, store, clock, config.mailbox.imap.sent_folder)
    templates = TemplateSet(config.templates_dir)
    accepted = SentLog(store.root / "outbox-sent.log", sync_each=config.smtp.accepted_log_sync == "each")
    # The SMTP adapter reports each accepted mail at once so it is logged before the
    # batch's "sent" marks are committed (narrowing the duplicate window).
    transport = make_transport(config, on_accepted=accepted.append)
    delivery = Delivery(config, store, transport, clock, accepted, sent_mailbox=sent_copies, dry_run=dry_run)
    intake = Intake(
        config,
        store,
        mailbox,
        templates,
        clock,
        dry_run=dry_run,
        should_stop=should_stop,
        progress=progress,
        sent_mailbox=sent_mailbox,
        sent_copies=sent_copies,
        after_batch=delivery.send_after_batch,
        commit_with=delivery.record_with,
    )
    return Runtime(config, store, mailbox, sent_mailbox, templates, intake, delivery, clock, dry_run)


def write_report(
    store: Store,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    path: Path,
    *,
    include_resolved: bool = False,
) -> int:
    """Render the staff page and replace ``path`` atomically (0600); return the cases shown."""
    page = staff_page(store, config, templates, now, include_resolved=include_resolved)
    write_atomically(Path(path), page.html.encode("utf-8"))
    return page.shown


def model_repository(config: Config) -> ModelStore:
    """Where `train --apply` keeps versioned category models (``<data_dir>/models``)."""
    return ModelStore(config.storage.data_dir)


def correction_recorder(config: Config) -> Callable[[Any], None]:
    """Appends a staff correction to the examples `train` learns from."""
    data_dir = config.storage.data_dir
    return lambda example: append_correction(data_dir, example)


def training_corpus(config: Config, folder: Path) -> Any:
    """The shipped corpora in ``folder`` plus the staff corrections of this data
    directory: the correction file and every correction on record in the store."""
    # Imported here: the trainer's modules are 30 ms of every other command's start.
    from inbox_agent.adapters.training_corpus import load_corpus

    corpus = load_corpus(folder, corrections_file(config.storage.data_dir))
    # A data directory nothing has been written to yet has no corrections.
    written = (config.storage.data_dir / "state.json").is_file()
    stored = stored_corrections(open_store(config, read_only=True)) if written else []
    return replace(corpus, training=with_stored_corrections(corpus.training, stored))


def staff_directory(config: Config) -> StaffDirectory:
    """The web app's staff accounts (``<data_dir>/staff-accounts.json``)."""
    return StaffAccountsFile(config.storage.data_dir)


def dropped_quarantine_log(config: Config) -> DroppedLog:
    """Records of quarantined mail staff dropped (``<data_dir>/quarantine-dropped.log``)."""
    return DroppedQuarantineFile(config.storage.data_dir)


def web_audit_log(config: Config) -> AuditLog:
    return AuditLogFile(config.storage.data_dir)


@dataclass
class WebServices:
    reads: WebReads
    actions: WebActions
    directory: StaffDirectory
    audit: AuditLog
    clock: Clock
    quarantine: QuarantineDesk
    outbox: OutboxDesk
    unfiled: UnfiledDesk
    new_complaint: NewComplaintDesk


def build_web(config: Config, *, clock: Clock | None = None) -> WebServices:
    """The staff web app's services over a store that sees the daemon's commits."""
    settings = config.storage
    store = FreshStore(settings.data_dir, shard_size=settings.shard_size, lock_timeout=settings.lock_timeout)
    templates = TemplateSet(config.templates_dir)
    audit = web_audit_log(config)
    directory = staff_directory(config)
    return WebServices(
        reads=WebReads(store, config, templates),
        actions=WebActions(store, config, templates, audit, correction_recorder(config), directory),
        directory=directory,
        audit=audit,
        clock=clock or SystemClock(),
        quarantine=QuarantineDesk(store, config, dropped_quarantine_log(config), audit),
        outbox=OutboxDesk(store, config, audit),
        unfiled=UnfiledDesk(store, config, audit),
        new_complaint=NewComplaintDesk(store, config, audit),
    )
