"""Building the mailbox and transport settings: ``[mailbox]`` (with ``[mailbox.imap]``
or ``[mailbox.maildir]``) and ``[smtp]``.

Each builder reads its ``Section``, appends every problem to the shared error list
and returns the record with defaults where a value was unusable.
"""

from __future__ import annotations

from datetime import date

from inbox_agent.config.reader import Section
from inbox_agent.config.settings import ImapSettings, MailboxSettings, MaildirSettings, Secret, SmtpSettings


def _imap(section: Section) -> ImapSettings:
    allow_plaintext = section.bool_("allow_plaintext", False)
    security = section.choice("security", "tls", ("tls", "starttls", "plain"))
    if security == "plain" and not allow_plaintext:
        section.errors.append(
            f'{section.path}.security: "plain" sends the password unencrypted; '
            "set allow_plaintext = true to allow it"
        )
    auth = section.choice("auth", "password", ("password", "xoauth2"))
    host = section.str_("host")
    if not host:
        section.errors.append(f'{section.path}.host: required for kind = "imap"')
    username = section.str_("username")
    if not username:
        section.errors.append(f'{section.path}.username: required for kind = "imap"')
    secret = section.secret("token" if auth == "xoauth2" else "password")
    settings = ImapSettings(
        host=host,
        port=section.int_("port", 993 if security == "tls" else 143, 1, 65535),
        security=security,  # type: ignore[arg-type]
        username=username,
        password=secret,
        auth=auth,  # type: ignore[arg-type]
        folder=section.str_("folder", "INBOX"),
        timeout=section.duration("timeout", 30.0, minimum=1.0),
        batch_size=section.int_("batch_size", 100, 1, 10000),
        processed_action=section.choice("processed_action", "flag", ("flag", "move")),  # type: ignore[arg-type]
        processed_keyword=section.str_("processed_keyword", "$InboxAgentDone"),
        keyword_fallback=section.choice("keyword_fallback", "checkpoint", ("checkpoint", "seen")),  # type: ignore[arg-type]
        processed_folder=section.str_("processed_folder", "Processed"),
        idle=section.bool_("idle", False),
        idle_timeout=_idle_timeout(section),
        sent_folder=section.str_("sent_folder", "auto"),
        tls_verify=section.bool_("tls_verify", True),
        ca_file=section.str_("ca_file", ""),
    )
    section.finish()
    return settings


def _idle_timeout(section: Section) -> float | None:
    """A duration, or None for "auto" (the default: chosen from the server at login)."""
    if section.raw("idle_timeout", "auto") == "auto":
        return None
    return section.duration("idle_timeout", 300.0)


def _maildir(section: Section) -> MaildirSettings:
    settings = MaildirSettings(
        path=section.path_("path", "maildir"),
        processed_action=section.choice("processed_action", "flag", ("flag", "move", "keep")),  # type: ignore[arg-type]
        processed_folder=section.str_("processed_folder", "Processed"),
    )
    section.finish()
    return settings


def mailbox_settings(section: Section) -> MailboxSettings:
    kind = section.choice("kind", "maildir", ("imap", "maildir"))
    imap = _imap(section.sub("imap")) if kind == "imap" else None
    maildir = _maildir(section.sub("maildir")) if kind == "maildir" else None
    # The section for the other kind may stay in the file (ops switch back and forth).
    section.used.update({"imap", "maildir"})
    address = section.email("address")
    if not address:
        section.errors.append(f"{section.path}.address: required (the complaint address replies come from)")
    start_from = section.choice("start_from", "all", ("now", "date", "all"))
    start_date: date | None = None
    raw_date = section.raw("start_date", "")
    if isinstance(raw_date, date):
        start_date = raw_date
    elif raw_date:
        try:
            start_date = date.fromisoformat(str(raw_date))
        except ValueError:
            section.errors.append(f"{section.path}.start_date: expected YYYY-MM-DD, got {raw_date!r}")
    if start_from == "date" and start_date is None:
        section.errors.append(f'{section.path}.start_date: required when start_from = "date"')
    settings = MailboxSettings(
        kind=kind,  # type: ignore[arg-type]
        imap=imap,
        maildir=maildir,
        address=address,
        poll_interval=section.duration("poll_interval", 30.0),
        max_message_bytes=section.size("max_message_size", 25 * 1024 * 1024),
        start_from=start_from,  # type: ignore[arg-type]
        start_date=start_date,
        silent_older_than=section.duration("silent_older_than", 7 * 86400.0),
        # A zero first wait would reconnect to a failing server in a tight loop.
        backoff_initial=section.duration("backoff_initial", 2.0, minimum=0.1),
        backoff_max=section.duration("backoff_max", 300.0, minimum=0.1),
        workers=section.int_("workers", 0, 0, 256),
        workers_nice=section.int_("workers_nice", 10, 0, 19),
    )
    if settings.backoff_max < settings.backoff_initial:
        section.errors.append(
            f"{section.path}.backoff_max: must be at least backoff_initial "
            f"({settings.backoff_max:g}s < {settings.backoff_initial:g}s)"
        )
    section.finish()
    return settings


def smtp_settings(section: Section) -> SmtpSettings:
    kind = section.choice("kind", "directory", ("smtp", "directory"))
    security = section.choice("security", "starttls", ("tls", "starttls", "plain"))
    allow_plaintext = section.bool_("allow_plaintext", False)
    username = section.str_("username")
    if kind == "smtp" and username:
        password = section.secret("password")
    else:
        # No AUTH: a password_env naming an unset variable is not an error then.
        section.used.update({"password_env", "password_file"})
        password = Secret("")
    host = section.str_("host")
    if kind == "smtp":
        if not host:
            section.errors.append(f'{section.path}.host: required for kind = "smtp"')
        if security == "plain" and username and not allow_plaintext:
            section.errors.append(
                f'{section.path}.security: "plain" sends the password unencrypted; '
                "set allow_plaintext = true to allow it"
            )
    directory = section.path_("directory", "outbox") if kind == "directory" else None
    if kind != "directory":
        section.used.add("directory")
    settings = SmtpSettings(
        kind=kind,  # type: ignore[arg-type]
        host=host,
        port=section.int_("port", {"tls": 465, "starttls": 587, "plain": 25}[security], 1, 65535),
        security=security,  # type: ignore[arg-type]
        username=username,
        password=password,
        timeout=section.duration("timeout", 30.0, minimum=1.0),
        directory=directory,
        batch_size=section.int_("batch_size", 100, 1, 10000),
        connections=section.int_("connections", 3, 1, 20),
        retry_initial=section.duration("retry_initial", 60.0),
        retry_max=section.duration("retry_max", 3600.0),
        tls_verify=section.bool_("tls_verify", True),
        ca_file=section.str_("ca_file", ""),
        helo_name=section.str_("helo_name", ""),
        accepted_log_sync=section.choice("accepted_log_sync", "batch", ("batch", "each")),  # type: ignore[arg-type]
    )
    section.finish()
    return settings
