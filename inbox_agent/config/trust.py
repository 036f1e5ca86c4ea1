"""``[trust]``: which senders the daemon believes are who they claim to be.

Anyone can write ``From: supervisor@wallet.example`` and any ``Authentication-Results``
header. Only the results our own receiving server adds (identified by its
``authserv_id``, RFC 8601) are read, and staff actions need a proof per action
(docs/ARCHITECTURE.md §12, README "Trust model").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inbox_agent.config.reader import EMAIL, Section

# The proofs a staff sender can bring.
ALIGNED = "aligned"  # our server's results: DMARC pass, or DKIM/SPF pass aligned with the From domain
NOTIFICATION_REPLY = "notification_reply"  # a reply to a notification we sent to that very address
PROOFS: tuple[str, ...] = (ALIGNED, NOTIFICATION_REPLY)

_AUTHSERV_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]{2,}$")


@dataclass(frozen=True)
class TrustSettings:
    # authserv-ids of our own receiving server(s); () = it adds no results (then only
    # replies to our notifications prove a staff sender)
    authserv_ids: tuple[str, ...] = ()
    # how many Authentication-Results headers our server puts on top of each mail
    results_headers: int = 1
    staff_command: tuple[str, ...] = PROOFS  # proofs accepted for #note/#assign/#resolve/#reopen
    staff_answer: tuple[str, ...] = PROOFS  # proofs accepted for an answer forwarded to the customer
    # our own domains besides the complaint address's and the staff domains: look-alikes
    # of any of them are flagged as likely phishing and never treated as staff
    protected_domains: frozenset[str] = frozenset()
    # Web forms that mail us a customer's complaint from their own address with the
    # customer's address in Reply-To: an address ("no-reply@forms.wallet.example") or a
    # whole domain ("@forms.wallet.example"). Their mail is the Reply-To's (stages/form_relay.py).
    form_relays: frozenset[str] = frozenset()

    def is_form_relay(self, address: str) -> bool:
        address = address.lower()
        return address in self.form_relays or "@" + address.rpartition("@")[2] in self.form_relays


def _proofs(section: Section, key: str) -> tuple[str, ...]:
    if not section.has(key):
        section.raw(key)
        return PROOFS
    values = tuple(value.strip().lower() for value in section.str_list(key))
    for value in values:
        if value not in PROOFS:
            section.errors.append(f"{section.path}.{key}: unknown proof {value!r} (use {', '.join(PROOFS)})")
    if not values:
        section.errors.append(f"{section.path}.{key}: at least one proof ({', '.join(PROOFS)})")
    return tuple(value for value in values if value in PROOFS) or PROOFS


def _authserv_ids(section: Section) -> tuple[str, ...]:
    value = section.raw("authserv_id", [])
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(item, str) for item in values):
        section.errors.append(f"{section.path}.authserv_id: expected a string or a list of strings")
        return ()
    ids = tuple(item.strip().lower() for item in values if item.strip())
    for item in ids:
        if not _AUTHSERV_ID.match(item):
            section.errors.append(f"{section.path}.authserv_id: not a host-like authserv-id: {item!r}")
    return ids


def _form_relays(section: Section) -> frozenset[str]:
    relays = frozenset(item.strip().lower() for item in section.str_list("form_relays"))
    for relay in sorted(relays):
        if not (EMAIL.match(relay) or (relay.startswith("@") and _DOMAIN.match(relay[1:]))):
            section.errors.append(f"{section.path}.form_relays: {relay!r} is neither an address nor @domain")
    return relays


def trust_settings(section: Section) -> TrustSettings:
    domains = frozenset(d.strip().lower().lstrip("@") for d in section.str_list("protected_domains"))
    for domain in sorted(domains):
        if not _DOMAIN.match(domain):
            section.errors.append(f"{section.path}.protected_domains: not a domain: {domain!r}")
    settings = TrustSettings(
        authserv_ids=_authserv_ids(section),
        results_headers=section.int_("results_headers", 1, 1, 10),
        staff_command=_proofs(section, "staff_command"),
        staff_answer=_proofs(section, "staff_answer"),
        protected_domains=domains,
        form_relays=_form_relays(section),
    )
    section.finish()
    return settings
