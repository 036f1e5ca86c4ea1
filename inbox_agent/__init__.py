"""inbox_agent: the complaint-mailbox daemon of a digital-wallet service."""

__version__ = "0.1.0"
