"""A Coq installation without one library: a ``-coqlib`` folder that links to the real one's theories and
every folder of its user-contrib except the one left out (CoqHammer's ``Hammer``, say), and a ``coq-core``
beside it (coqtop looks for its plugins in ``COQLIB/../coq-core``)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def coqlib_without(parent: Path, library: str) -> Path:
    """A folder (made in ``parent``) for ``coqtop -coqlib`` that holds the installed Coq's libraries,
    ``library`` (a folder of user-contrib) left out; the real one must have it, so that its absence is the
    test's doing."""
    where = Path(subprocess.run(["coqc", "-where"], capture_output=True, text=True,
                                check=True).stdout.strip())
    contrib = where / "user-contrib"
    assert (contrib / library).is_dir(), f"{library} is not installed in {where}: nothing to leave out"
    folder = parent / "coqlib"
    (folder / "user-contrib").mkdir(parents=True)
    if (where.parent / "coq-core").is_dir():
        (parent / "coq-core").symlink_to(where.parent / "coq-core")
    (folder / "theories").symlink_to(where / "theories")
    for entry in contrib.iterdir():
        if entry.name != library:
            (folder / "user-contrib" / entry.name).symlink_to(entry)
    return folder
