"""Sender authentication (pure): is the From address's domain vouched for by our own
receiving server?

RFC 8601: anyone can write an ``Authentication-Results`` header, so only the topmost
``results_headers`` of them count, and only when they carry our server's
``authserv-id``; every other one is ignored, wherever it sits. From our server's
results we take DMARC for the From domain and the DKIM (``header.d``) and SPF
(``smtp.mailfrom``) passes *aligned* with the From domain — a pass for some other
domain proves nothing about the From line. Parsing is ``authres`` (the RFC 8601
parser of the dkimpy family); a header it cannot read counts as no results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import authres

from inbox_agent.domain.model import ParsedMessage

PASS = "pass"  # aligned DMARC/DKIM/SPF pass for the From domain
FAIL = "fail"  # DMARC fail for the From domain
NONE = "none"  # no usable results from our server


@dataclass(frozen=True)
class SenderAuth:
    verdict: str  # PASS | FAIL | NONE
    rule: str  # which result decided, or why there is none — shown on the case and by classify
    authserv_id: str = ""  # whose results were read ("" = none)

    @property
    def aligned_pass(self) -> bool:
        return self.verdict == PASS

    def as_json(self) -> dict[str, str]:
        return {"verdict": self.verdict, "rule": self.rule, "authserv_id": self.authserv_id}


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[1].strip().lower().rstrip(".") if "@" in address else ""


def aligned(authenticated: str, from_domain: str) -> bool:
    """Relaxed alignment without a public-suffix list: the same domain, or the From
    domain is a subdomain of the authenticated one (which must have a dot: a pass for a
    bare top-level domain aligns nothing). Sibling subdomains do not align (stricter
    than DMARC: we would rather ask staff to reply to a notification than trust too much)."""
    authenticated = authenticated.strip().lower().lstrip("@").rstrip(".")
    if not authenticated or not from_domain or "." not in authenticated:
        return False
    return from_domain == authenticated or from_domain.endswith("." + authenticated)


def _ours(msg: ParsedMessage, authserv_ids: Sequence[str], count: int) -> tuple[list, str, str]:
    """(results, problem, authserv-id) of the topmost ``count`` headers, when they are
    our server's; a problem names why none were read."""
    values = [value for key, value in msg.headers if key == "authentication-results"][:count]
    if not values:
        return [], "no Authentication-Results header", ""
    results: list = []
    serv_id = ""
    for value in values:
        try:
            header = authres.AuthenticationResultsHeader.parse_value(" ".join(value.split()))
        except authres.AuthResError as exc:
            return [], f"topmost Authentication-Results unreadable ({type(exc).__name__})", ""
        serv_id = (header.authserv_id or "").lower()
        if serv_id not in authserv_ids:
            return [], f"topmost Authentication-Results is from {serv_id or '(none)'!r}, not our server", ""
        results.extend(header.results)
    return results, "", serv_id


def _property(result: object, ptype: str, name: str) -> str:
    for prop in getattr(result, "properties", ()):
        if prop.type == ptype and prop.name == name:
            return str(prop.value or "")
    return ""


def _decide(results: list, from_domain: str, serv_id: str) -> SenderAuth:
    passes: list[str] = []
    for result in results:
        method, outcome = result.method.lower(), (result.result or "").lower()
        if method == "dmarc" and _property(result, "header", "from").lower() == from_domain:
            if outcome == "fail":
                return SenderAuth(FAIL, f"dmarc=fail header.from={from_domain}", serv_id)
            if outcome == "pass":
                passes.append(f"dmarc=pass header.from={from_domain}")
        elif method == "dkim" and outcome == "pass":
            signer = _property(result, "header", "d") or domain_of(_property(result, "header", "i"))
            if aligned(signer, from_domain):
                passes.append(f"dkim=pass header.d={signer.lower()} (aligned)")
        elif method == "spf" and outcome == "pass":
            mailfrom = _property(result, "smtp", "mailfrom")
            if aligned(domain_of(mailfrom) or mailfrom, from_domain):
                passes.append(f"spf=pass smtp.mailfrom={mailfrom.lower()} (aligned)")
    if passes:  # DMARC's own verdict names the rule when there is one
        return SenderAuth(PASS, min(passes, key=lambda rule: not rule.startswith("dmarc")), serv_id)
    return SenderAuth(NONE, f"no aligned pass for {from_domain} in our server's results", serv_id)


def authenticate(msg: ParsedMessage, authserv_ids: Sequence[str], results_headers: int = 1) -> SenderAuth:
    """What our own server says about the From domain of ``msg``."""
    from_domain = domain_of(msg.sender)
    if not authserv_ids:
        return SenderAuth(NONE, "no authserv_id configured: Authentication-Results are not read")
    if not from_domain:
        return SenderAuth(NONE, "no From domain")
    results, problem, serv_id = _ours(msg, authserv_ids, results_headers)
    if problem:
        return SenderAuth(NONE, problem)
    return _decide(results, from_domain, serv_id)
