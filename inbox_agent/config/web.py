"""``[web]``: the staff web app (`inbox-agent web`): where it listens, how staff sign in.

It binds 127.0.0.1 by default: TLS and the public name belong to a reverse proxy in
front of it (README "Staff web app", deploy/nginx-inbox-agent.conf).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from inbox_agent.config.reader import Section

_HEADER = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"  # never all interfaces unless asked: staff reach it through the proxy
    port: int = 8025
    # Session cookies carry Secure (sent over https only). Only a test or a laptop on
    # http://127.0.0.1 turns it off; the app refuses to start with it off on another address.
    secure_cookies: bool = True
    session_lifetime: float = 12 * 3600.0  # seconds a sign-in lasts
    idle_timeout: float = 3600.0  # seconds without a request before the session ends
    max_failed_signins: int = 10  # wrong passwords in a row before the account is locked
    lockout: float = 900.0  # seconds an account stays locked
    throttle: float = 1.0  # seconds to wait after each wrong password (per account)
    page_size: int = 50  # cases per queue page
    poll_interval: float = 3.0  # seconds between two checks for changes by the open queue page
    # A reverse proxy that authenticates staff itself (SSO) may name the user in a header;
    # it is believed only on connections from these proxy addresses.
    trusted_proxies: tuple[str, ...] = ()
    proxy_user_header: str = ""  # e.g. "X-Remote-User"; "" = sign in with a password only


def web_settings(section: Section) -> WebSettings:
    defaults = WebSettings()
    proxies = tuple(section.str_list("trusted_proxies"))
    for address in proxies:
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            section.errors.append(
                f"{section.path}.trusted_proxies: not an IP address or network: {address!r}"
            )
    header = section.str_("proxy_user_header", "")
    if header and not _HEADER.match(header):
        section.errors.append(f"{section.path}.proxy_user_header: not a header name: {header!r}")
    if header and not proxies:
        section.errors.append(f"{section.path}.proxy_user_header: needs trusted_proxies (who may send it)")
    settings = WebSettings(
        host=section.str_("host", defaults.host),
        port=section.int_("port", defaults.port, minimum=1, maximum=65535),
        secure_cookies=section.bool_("secure_cookies", defaults.secure_cookies),
        session_lifetime=section.duration("session_lifetime", defaults.session_lifetime),
        idle_timeout=section.duration("idle_timeout", defaults.idle_timeout),
        max_failed_signins=section.int_("max_failed_signins", defaults.max_failed_signins, minimum=1),
        lockout=section.duration("lockout", defaults.lockout),
        throttle=section.duration("throttle", defaults.throttle),
        page_size=section.int_("page_size", defaults.page_size, minimum=5, maximum=500),
        poll_interval=section.duration("poll_interval", defaults.poll_interval),
        trusted_proxies=proxies,
        proxy_user_header=header,
    )
    section.finish()
    return settings
