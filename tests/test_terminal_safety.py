"""Customer text printed to an ops terminal cannot drive the terminal.

`show`, `cases` and the table `run` prints put a customer's subject, name, text and
file names on the terminal of whoever runs them. ESC sequences and the C1 control
U+009B (CSI, which terminals obey as ESC [) could clear the screen, retitle the
window, recolour or hide lines, or plant a hyperlink. The parser drops them from
every text it keeps, so no output of any command carries them. It also drops the
explicit bidi overrides, embeddings and isolates, which make a name read in another
order than it is written."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import cli, cli_json, write_config

from inbox_agent.stages.parse import parse_message

CSI, ESC = "\x9b", "\x1b"
CONTROLS = (ESC, CSI, "\x90", "\x9d", "\x07")  # ESC, CSI, DCS, OSC, BEL


def _hostile_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = "placeholder@example.com"
    mail["To"] = "complaints@wallet.example"
    mail["Subject"] = f"Charged twice {CSI}8m hidden {ESC}[0m"
    mail["Message-ID"] = "<terminal-1@example.com>"
    mail.set_content(f"My payment failed.{ESC}[2J{CSI}31m {ESC}]8;;http://evil.example/{ESC}\\link")
    mail.add_alternative(f"<p>My payment failed {CSI}32m{ESC}[2J</p>", subtype="html")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    mail.add_attachment(png, maintype="image", subtype="png", filename=f"shot{CSI}31m{ESC}[2J.png")
    # The display name as a mailer sends it, encoded (the email package would encode the
    # whole header, address included, around the controls).
    name = base64.b64encode(f"Evil{CSI}2J{ESC}]0;owned{ESC}\\".encode()).decode()
    sender = f"From: =?utf-8?b?{name}?= <evil@example.com>".encode()
    return mail.as_bytes().replace(b"From: placeholder@example.com", sender, 1)


def test_the_parser_keeps_no_terminal_control_in_any_text() -> None:
    parsed = parse_message(_hostile_mail())
    texts = [parsed.subject, parsed.sender_name, parsed.text, *(a.filename for a in parsed.attachments)]
    for text in texts:
        assert not any(control in text for control in CONTROLS), repr(text)
    assert "My payment failed." in parsed.text and "Charged twice" in parsed.subject


@pytest.mark.parametrize("language_text", ["Übermäßig berechnet — “zweimal”", "扣了两次款，请退款"])
def test_printable_text_outside_ascii_is_kept(language_text: str) -> None:
    mail = EmailMessage()
    mail["From"] = "a@example.com"
    mail["Subject"] = language_text
    mail.set_content(language_text)
    parsed = parse_message(mail.as_bytes())
    assert parsed.subject == language_text and language_text in parsed.text


def test_no_command_prints_a_terminal_control_from_customer_text(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.eml").write_bytes(_hostile_mail())
    config = write_config(tmp_path, maildir=maildir)
    outputs = [cli(config, "run", "--once")]
    outputs += [cli(config, *command) for command in (("cases",), ("cases", "--json"))]
    case_id = cli_json(config, "cases")[0]["case_id"]
    outputs += [cli(config, "show", case_id, *flag) for flag in ((), ("--json",), ("--unmask",))]
    for done in outputs:
        assert done.returncode == 0, done.stdout + done.stderr
        for control in CONTROLS:
            assert control not in done.stdout + done.stderr, (done.args, repr(control))
    assert "Charged twice" in outputs[1].stdout


def test_bidi_overrides_cannot_make_a_name_read_in_another_order() -> None:
    # "receipt<RLO>fdp.exe" shows as "receiptexe.pdf" on the page and the terminal.
    rlo, pdf, lri, pdi = "\u202e", "\u202c", "\u2066", "\u2069"
    mail = EmailMessage()
    mail["From"] = "a@example.com"
    mail["Subject"] = f"Refund {rlo}dnuf{pdf} please"
    mail.set_content(f"See the receipt {lri}{rlo}fdp.exe{pdi}. שלום\u200f עולם")
    mail.add_attachment(
        b"MZ", maintype="application", subtype="octet-stream", filename=f"receipt{rlo}fdp.exe"
    )
    parsed = parse_message(mail.as_bytes())
    assert parsed.attachments[0].filename == "receiptfdp.exe"
    assert parsed.subject == "Refund dnuf please"
    assert "See the receipt fdp.exe." in parsed.text
    assert "שלום\u200f עולם" in parsed.text  # right-to-left text and its marks are kept
