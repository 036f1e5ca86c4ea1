"""``[trust]``: which senders the daemon believes are who they claim to be.

Anyone can write ``From: supervisor@wallet.example`` and any ``Authentication-Results``
header. Only the results our own receiving server adds (identified by its
``authserv_id``, RFC 8601) are read, and staff actions need a proof per action
(docs/ARCHITECTURE.md §12, README "Trust model").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inbox_agent.config.reader import Section

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
    )
    section.finish()
    return settings
