"""A batch of outgoing mail over several SMTP connections at once (``[smtp] connections``).

Without PIPELINING a mail costs four round trips to the relay (MAIL, RCPT, DATA and
the message), two with it; one connection spends most of its time waiting for
answers, all the more when the relay is across a network. Mail servers deliver to
one relay over several connections for that reason (Postfix: up to 20). Each
connection here is the one-connection sending of ``adapters.smtp`` unchanged, in its
own thread for the length of the batch; the threads are gone when the batch is
(the analysis pool forks processes, and a fork should copy no other thread).

Mails with the same recipients go over the same connection, in their order, so a
customer who wrote twice gets the acknowledgement of the first mail first. A relay
that refuses the extra connections (a per-client limit: "421 too many connections")
costs nothing: the mails of a connection that could not be opened go over one that
could, after it, and the transport opens no more than the relay took from then on
(``ConnectionBudget``), asking for one more each time it has refused none for ten minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from inbox_agent.domain.model import OutgoingMail, SendOutcome, SendResult
from inbox_agent.services.ports import TransportError

SendInTurn = Callable[[Sequence[OutgoingMail]], list[SendResult]]
# One connection's sending, or the reason that connection could not be opened.
SendGroup = Callable[[Sequence[OutgoingMail]], "list[SendResult] | TransportError"]

# After a relay refused connections, one more is asked for once it has refused none for
# this long: its limit counts every client on our address and may have been full only a
# while. So at most one refused connection per period, and it loses no mail.
ASK_FOR_MORE_AFTER_S = 600.0


class ConnectionBudget:
    """How many connections to ask the relay for: ``[smtp] connections``, fewer once it
    refused some, and back up one at a time once it stops refusing."""

    def __init__(self, most: int, where: str, log: logging.Logger, clock: Callable[[], float]) -> None:
        self.most = most
        self.count = most
        self._where = where
        self._log = log
        self._clock = clock
        self._changed_at = clock()  # the last refusal, or the last step up

    def asking(self) -> int:
        """The connections to open for the next batch."""
        if self.count < self.most and self._clock() - self._changed_at >= ASK_FOR_MORE_AFTER_S:
            self.count += 1
            self._changed_at = self._clock()  # one step per period
            self._log.info(
                "SMTP: %s refused no connection for %.0f s; using %d",
                self._where,
                ASK_FOR_MORE_AFTER_S,
                self.count,
            )
        return self.count

    def took(self, opened: int, refused: int) -> None:
        """The relay took ``opened`` connections (at least one) and refused ``refused``."""
        if not refused:
            return
        # At most as many as it took, and one less each time it refuses again (it may
        # have taken them one after another, not at once).
        fewer = max(1, min(opened, self.count - 1))
        self._log.info(
            "SMTP: %s refused %d of %d connections; using %d", self._where, refused, opened + refused, fewer
        )
        self.count = fewer
        self._changed_at = self._clock()


def recipient_groups(mails: Sequence[OutgoingMail], count: int) -> list[list[OutgoingMail]]:
    """``mails`` cut into at most ``count`` groups of near-equal size; the mails of
    one recipient list stay together and in order (each list goes to the group
    with the fewest mails when it first appears)."""
    groups: list[list[OutgoingMail]] = [[] for _ in range(max(1, min(count, len(mails))))]
    group_of: dict[tuple[str, ...], int] = {}
    for mail in mails:
        key = tuple(sorted(address.lower() for address in mail.recipients))
        if key not in group_of:
            group_of[key] = min(range(len(groups)), key=lambda index: len(groups[index]))
        groups[group_of[key]].append(mail)
    return [group for group in groups if group]


def send_over_connections(
    mails: Sequence[OutgoingMail], count: int, send_group: SendGroup, send_in_turn: SendInTurn
) -> tuple[list[SendResult], int, int]:
    """One result per mail, in the order of ``mails``; how many connections the relay
    took and how many it refused (a batch of fewer recipient lists than ``count`` asks
    for fewer). ``send_group`` sends a group over a connection of its own,
    ``send_in_turn`` over one after another (the way for one group, and for the mails
    of a connection not opened)."""
    groups = recipient_groups(mails, count)
    if len(groups) <= 1:
        return send_in_turn(mails), 1, 0
    with ThreadPoolExecutor(len(groups), thread_name_prefix="inbox-agent-smtp-connection") as pool:
        answered = list(pool.map(send_group, groups))
    results = [
        result for outcome in answered if not isinstance(outcome, TransportError) for result in outcome
    ]
    refused = [
        (group, outcome)
        for group, outcome in zip(groups, answered, strict=True)
        if isinstance(outcome, TransportError)
    ]
    opened = len(groups) - len(refused)
    if opened == 0:  # the relay took no connection: as one connection that could not be opened
        error = str(refused[0][1])
        return [SendResult(mail.outbox_id, SendOutcome.RETRY, error) for mail in mails], 0, len(refused)
    if refused:
        results += send_in_turn([mail for group, _ in refused for mail in group])
    by_id = {result.outbox_id: result for result in results}
    return [by_id[mail.outbox_id] for mail in mails], opened, len(refused)
