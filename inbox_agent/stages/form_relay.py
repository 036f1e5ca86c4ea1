"""Mail a web form relays: whose complaint it is.

A contact form on the wallet's site mails each complaint from the form's own address
("Wallet website <no-reply@forms.wallet.example>") with the customer's address, as typed
into the form, in Reply-To. Read by its From line, every such mail would be one
customer's (the relay's), or skipped as a no-reply sender and answered never: the
complaint reaches no case. For the relays ops name (``[trust] form_relays``) the
customer is the Reply-To address; a form that sets none (older Drupal and WordPress
form plugins) writes it into the text as a labelled field ("Email: amy@example.com",
Contact Form 7's "From: Amy Lee <amy@example.com>", "邮箱：…"), and exactly one such
address is the customer's. Two different ones, or none, and the mail is quarantined:
whose complaint it is cannot be told.

Only named relays: Zammad's ``postmaster_sender_based_on_reply_to`` takes Reply-To as
the sender of every mail, which lets any mail file itself under someone else's address.
The address a customer types into a form proves nothing, so a relayed mail is never
staff (``pipeline.steps.staff_like``), and what our server says about the relay's
domain is shown as the relay's, not the customer's (``pipeline.steps.Authenticate``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from email.utils import parseaddr

from inbox_agent.domain.model import ParsedMessage

# A form's labelled e-mail field, at the start of a line of its text.
_EMAIL_FIELD = re.compile(
    r"^[ \t*]*(?P<label>(?:your |customer )?e-?mail(?: address)?|from|sender|"
    r"邮箱(?:地址)?|电子邮(?:件|箱)(?:地址)?|联系邮箱|郵箱|電子郵件(?:地址)?|聯絡電郵|電郵)"
    r"[ \t*]*[:：][ \t]*(?P<value>[^\n]{3,200})$",
    re.IGNORECASE | re.MULTILINE,
)
_NAME_FIELD = re.compile(
    r"^[ \t*]*(?:(?:your |full )?name|姓名|名字|称呼|稱呼)[ \t*]*[:：][ \t]*(?P<value>[^\n]{1,80})$",
    re.IGNORECASE | re.MULTILINE,
)
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def from_form_relay(
    msg: ParsedMessage, is_relay: Callable[[str], bool], own_addresses: frozenset[str]
) -> ParsedMessage | str | None:
    """The mail as the customer's when a form relay sent it; a reason when it came from
    a relay but names no customer (it cannot be filed under anyone); None when no relay
    sent it."""
    relay = msg.sender
    if not relay or not is_relay(relay):
        return None
    customer, name, field = msg.reply_to.strip().lower(), msg.reply_to_name, "Reply-To"
    if not customer:
        found = form_field_address(msg.text, lambda address: is_relay(address) or address in own_addresses)
        if isinstance(found, str):
            return f"form relay {relay} sent no Reply-To, and {found}: whose complaint it is cannot be told"
        name, customer, field = found
    if "@" not in customer or is_relay(customer) or customer in own_addresses:
        return f"form relay {relay}: its {field} {customer} is not a customer's address"
    return replace(msg, sender=customer, sender_name=name, relayed_by=relay, relay_field=field)


def form_field_address(text: str, ours: Callable[[str], bool]) -> tuple[str, str, str] | str:
    """(name, address, the field's label) of the one address the form's labelled e-mail
    fields hold, ours (the relay's own, the complaint address) left out; or why there is
    none to take."""
    fields = [(match.group("label"), match.group("value")) for match in _EMAIL_FIELD.finditer(text)]
    found = {address.lower() for _label, value in fields for address in _ADDRESS.findall(value)}
    addresses = {address for address in found if not ours(address)}
    if len(addresses) != 1:
        return "its text names no e-mail field" if not addresses else "its text names two e-mail addresses"
    (address,) = addresses
    label, value = next((label, value) for label, value in fields if address in value.lower())
    shown, parsed = parseaddr(value)
    named = _NAME_FIELD.search(text)
    name = shown if shown and parsed.lower() == address else (named.group("value").strip() if named else "")
    return name.strip(), address, f"'{label.strip()}' field"
