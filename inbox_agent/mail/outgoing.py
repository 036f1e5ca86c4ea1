"""Turn a rendered reply into a queued ``OutgoingMail`` with our headers (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.model import LOOP_HEADER, OutgoingMail
from inbox_agent.mail.compose import RenderedMail
from inbox_agent.mail.mime import build_email_bytes, make_message_id
from inbox_agent.mail.text import single_line


def outgoing_mail(
    config: Config,
    *,
    case_id: str,
    kind: str,
    unique: str,
    rendered: RenderedMail,
    to_addr: str,
    in_reply_to: str,
    references: Sequence[str],
    now: datetime,
) -> OutgoingMail:
    """``unique`` must be derived from what caused the mail (the incoming mail's hash,
    the staff command): doing the same work again yields the same outbox id and
    Message-ID, so it can never queue a second copy."""
    message_id = make_message_id(config.message_id_domain, unique)
    raw = build_email_bytes(
        from_addr=config.mailbox.address,
        from_name=config.acknowledge.from_name,
        to_addr=to_addr,
        subject=" ".join(single_line(rendered.subject).split()),  # as the header has it
        text=rendered.text,
        html=rendered.html,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=tuple(references),
        date=now,
        loop_header=LOOP_HEADER,
        loop_token=config.loop_token,
    )
    return OutgoingMail(
        outbox_id=unique,
        case_id=case_id,
        kind=kind,
        message_id=message_id,
        sender=config.mailbox.address,
        recipients=(to_addr,),
        subject=" ".join(single_line(rendered.subject).split()),  # as the header has it
        raw=raw,
    )
