"""Whether the data directory's file system keeps a journal (adapters/disk.py): read from
mountinfo, the block device links and the running journals, here given as files of a
made-up machine; and what `check` says about the real one."""

from __future__ import annotations

import os
from pathlib import Path

from helpers import cli, write_config

from inbox_agent.adapters.disk import unjournaled_file_system

MOUNTS = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
40 27 254:16 / /srv/mail rw,relatime - ext4 /dev/vdb rw
41 27 259:1 / /srv/mail/x\\040y rw,relatime - ext2 /dev/nvme0n1p1 rw
42 27 0:50 / /scratch rw,relatime - tmpfs tmpfs rw
43 27 253:0 / /data rw,relatime - xfs /dev/mapper/data rw
"""


def _machine(tmp_path: Path, journals: list[str]) -> dict[str, Path]:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(MOUNTS)
    devices = tmp_path / "dev-block"
    devices.mkdir()
    for number, name in (("254:0", "vda"), ("254:16", "vdb"), ("259:1", "nvme0n1p1"), ("253:0", "dm-0")):
        os.symlink(f"../../devices/virtual/block/{name}", devices / number)
    running = tmp_path / "jbd2"
    running.mkdir()
    for name in journals:
        (running / name).mkdir()
    return {"mountinfo": mountinfo, "devices": devices, "journals": running}


def test_ext4_without_a_running_journal_is_named(tmp_path: Path) -> None:
    machine = _machine(tmp_path, journals=["vdb-8"])
    assert unjournaled_file_system(Path("/var/lib/inbox-agent"), **machine) == "ext4"  # on / (vda)
    assert unjournaled_file_system(Path("/srv/mail/data"), **machine) is None  # vdb keeps one


def test_the_innermost_mount_decides(tmp_path: Path) -> None:
    machine = _machine(tmp_path, journals=["vda-8", "vdb-8"])
    assert unjournaled_file_system(Path("/srv/mail/x y/data"), **machine) == "ext2"  # "\040" is a space
    assert unjournaled_file_system(Path("/srv/mailbox"), **machine) is None  # not under /srv/mail: vda
    assert unjournaled_file_system(Path("/data/inbox"), **machine) is None  # xfs journals itself
    assert unjournaled_file_system(Path("/scratch/inbox"), **machine) is None  # not ext at all


def test_a_machine_without_the_files_says_nothing(tmp_path: Path) -> None:
    machine = _machine(tmp_path, journals=[])
    assert unjournaled_file_system(Path("/srv/mail"), **machine) == "ext4"
    for missing in ("mountinfo", "devices"):
        absent = {**machine, missing: tmp_path / "absent"}
        assert unjournaled_file_system(Path("/srv/mail"), **absent) is None
    # No journal has ever run on the machine: the folder itself is missing.
    assert (
        unjournaled_file_system(Path("/srv/mail"), **{**machine, "journals": tmp_path / "no-jbd2"}) == "ext4"
    )


def test_check_reports_the_data_directory_and_its_file_system(tmp_path: Path) -> None:
    config = write_config(tmp_path, maildir=tmp_path / "maildir")
    (tmp_path / "maildir" / "new").mkdir(parents=True)
    (tmp_path / "maildir" / "cur").mkdir()
    (tmp_path / "maildir" / "tmp").mkdir()
    result = cli(config, "check")
    said = " ".join(result.stdout.split())  # the console wraps long lines
    assert result.returncode == 0, result.stdout
    assert "storage: missing (nothing stored yet)" in said
    kind = unjournaled_file_system(tmp_path / "data")
    assert ("storage: warning:" in said) == (kind is not None), said  # said exactly when it is one
    if kind:
        assert f"is on {kind} without a journal" in said and "use a journaled file system" in said
