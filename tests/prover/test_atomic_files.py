"""Report and metadata files are replaced atomically: a writer killed with SIGKILL mid-write, or failing,
leaves the old file whole; the report writers of sweeps and expert iteration go through the helper."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from prover import atomic_files
from prover.atomic_files import atomic_path, write_json_atomic, write_text_atomic

SLOW_WRITER = """
import sys, time
from pathlib import Path
from prover.atomic_files import atomic_path
with atomic_path(Path(sys.argv[1])) as temporary, temporary.open("w") as fh:
    fh.write("new " * 100_000)
    fh.flush()
    print("half written", flush=True)
    time.sleep(60)
    fh.write("end")
"""


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_replaces_the_whole_file_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.json"
    write_json_atomic(target, {"proved": 3, "name": "ℕ"})
    write_json_atomic(target, {"proved": 4})
    assert json.loads(target.read_text()) == {"proved": 4}
    write_text_atomic(tmp_path / "report.md", "# ok\n")
    assert (tmp_path / "report.md").read_text() == "# ok\n"
    assert leftovers(target.parent) == [] and leftovers(tmp_path) == []


def test_a_failing_writer_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old report")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half of a new rep")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old report"
    assert leftovers(tmp_path) == []


def test_a_writer_killed_mid_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old report")
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], stdout=subprocess.PIPE,
                              text=True)
    assert writer.stdout.readline().strip() == "half written"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert target.read_text() == "old report"
    torn = [p for p in tmp_path.iterdir() if p.name.startswith(".report.")]
    assert len(torn) == 1 and torn[0].stat().st_size >= 400_000  # the torn copy is only ever the temporary


def test_the_temporary_keeps_the_suffix_for_format_detection(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "plot.png") as temporary:
        assert temporary.suffix == ".png" and temporary.parent == tmp_path
        temporary.write_bytes(b"png")


def test_sweep_and_expert_reports_are_written_through_the_helper(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from prover.expert.report import write_report as write_expert_report
    from prover.sweep.report import SweepSummary
    from prover.sweep.report import write_report as write_sweep_report

    replaced: list[str] = []
    real_replace = atomic_files.os.replace

    def recording_replace(source, target) -> None:
        replaced.append(Path(target).name)
        real_replace(source, target)

    monkeypatch.setattr(atomic_files.os, "replace", recording_replace)
    out = tmp_path / "sweep"
    paths = write_sweep_report(SweepSummary(total=1, proved=1, invalid=0, errors=0, pending=0), out, "t")
    assert {"report.json", "report.md", "solved_vs_budget.png"} <= set(replaced)
    assert sorted(replaced) == sorted(p.name for p in out.iterdir())  # every file it wrote, atomically
    assert {path.name for path in paths.values()} <= set(replaced)
    replaced.clear()
    out = tmp_path / "expert"
    write_expert_report([], out, "t")
    assert {"report.json", "report.md", "report.png"} <= set(replaced)
    assert sorted(replaced) == sorted(p.name for p in out.iterdir())
