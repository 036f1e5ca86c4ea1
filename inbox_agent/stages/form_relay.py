"""Mail a web form relays: whose complaint it is.

A contact form on the wallet's site mails each complaint from the form's own address
("Wallet website <no-reply@forms.wallet.example>") with the customer's address, as typed
into the form, in Reply-To. Read by its From line, every such mail would be one
customer's (the relay's), or skipped as a no-reply sender and answered never: the
complaint reaches no case. For the relays ops name (``[trust] form_relays``) the
customer is the Reply-To address.

Only named relays: Zammad's ``postmaster_sender_based_on_reply_to`` takes Reply-To as
the sender of every mail, which lets any mail file itself under someone else's address.
The address a customer types into a form proves nothing, so a relayed mail is never
staff (``pipeline.steps.staff_like``), and what our server says about the relay's
domain is shown as the relay's, not the customer's (``pipeline.steps.Authenticate``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from inbox_agent.domain.model import ParsedMessage


def from_form_relay(
    msg: ParsedMessage, is_relay: Callable[[str], bool], own_addresses: frozenset[str]
) -> ParsedMessage | str | None:
    """The mail as the customer's when a form relay sent it; a reason when it came from
    a relay but names no customer (it cannot be filed under anyone); None when no relay
    sent it."""
    relay = msg.sender
    if not relay or not is_relay(relay):
        return None
    customer = msg.reply_to.strip().lower()
    if not customer:
        return f"form relay {relay} sent no Reply-To: whose complaint it is cannot be told"
    if "@" not in customer or is_relay(customer) or customer in own_addresses:
        return f"form relay {relay}: its Reply-To {customer} is not a customer's address"
    return replace(msg, sender=customer, sender_name=msg.reply_to_name, relayed_by=relay)
