"""LeanDojo failures that used to escape as raw exceptions: each is a typed error with a clear message.

Checked against lean-dojo 4.20.0: its import runs ``git --version`` (``CalledProcessError`` without git);
fetching a repository raises PyGithub's ``GithubException`` or GitPython's ``GitCommandError``; its
``Theorem`` asserts that ``file_path`` ends in ``.lean``.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from test_dojo_session import LOCATOR, THEOREM, fake_api, make_backend, real_lean_dojo, standard_script

from search.backends.lean.dojo import LeanDojoBackend
from search.backends.lean.dojo_api import api_from_module, load_dojo_api
from search.backends.lean.dojo_config import LeanDojoConfig
from search.errors import BackendUnavailableError, InvalidTheoremError

ROOT = Path(__file__).resolve().parents[3]
LOAD = """
from search.backends.lean.dojo_api import load_dojo_api
from search.backends.lean.dojo_config import LeanDojoConfig
from search.errors import BackendUnavailableError
try:
    load_dojo_api(LeanDojoConfig())
except BackendUnavailableError as exc:
    print("unavailable:", exc)
else:
    print("imported")
"""


def test_importing_lean_dojo_without_git_makes_the_backend_unavailable(tmp_path: Path) -> None:
    pytest.importorskip("lean_dojo")
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {"PATH": str(empty), "HOME": str(tmp_path), "TMP_DIR": str(tmp_path / "tmp"),
           "CACHE_DIR": str(tmp_path / "cache")}  # no git on PATH, no GITHUB_ACCESS_TOKEN
    run = subprocess.run([sys.executable, "-c", LOAD], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout.strip()
    assert out.startswith("unavailable: backend 'dojo' is unavailable: importing lean_dojo failed"), out
    assert "`git --version`" in out and "exit status 127" in out and "install git (>= 2.25)" in out


def test_gitpython_without_a_git_executable_names_git_not_pip() -> None:
    def importer(name: str) -> None:
        raise ImportError("Failed to initialize: Bad git executable.")

    with pytest.raises(BackendUnavailableError, match=r"Bad git executable.*install git"):
        load_dojo_api(LeanDojoConfig(), environ={}, importer=importer, loaded={})


def test_the_api_knows_the_errors_of_leandojos_dependencies() -> None:
    from git.exc import GitCommandError
    from github.GithubException import GithubException

    errors = api_from_module(real_lean_dojo()).library_errors
    assert GithubException in errors and GitCommandError in errors


def backend_whose_repo_raises(exc: Exception) -> LeanDojoBackend:
    def repo(url: str, commit: str) -> None:
        raise exc

    return LeanDojoBackend(LeanDojoConfig(), api=replace(fake_api(standard_script()), LeanGitRepo=repo))


def test_a_repository_github_does_not_have_is_the_theorems_problem() -> None:
    from github.GithubException import UnknownObjectException

    backend = backend_whose_repo_raises(UnknownObjectException(404, {"message": "Not Found"}, None))
    with pytest.raises(InvalidTheoremError,
                       match=r"theorem 't': GitHub has no repository .*miniF2F-lean4 \(404\)"):
        backend.open(THEOREM)


def test_a_github_api_failure_makes_the_backend_unavailable() -> None:
    from github.GithubException import RateLimitExceededException

    limit = RateLimitExceededException(403, {"message": "API rate limit exceeded"})
    backend = backend_whose_repo_raises(limit)
    with pytest.raises(BackendUnavailableError, match=r"403 API rate limit exceeded.*GITHUB_ACCESS_TOKEN"):
        backend.open(THEOREM)


def test_a_failing_git_command_makes_the_backend_unavailable() -> None:
    from git.exc import GitCommandError

    error = GitCommandError(["git", "clone", LOCATOR.repo_url], 128, stderr="fatal: unable to access")
    with pytest.raises(BackendUnavailableError) as caught:
        backend_whose_repo_raises(error).open(THEOREM)
    message = str(caught.value)
    assert f"`git clone {LOCATOR.repo_url}` failed with status 128: fatal: unable to access" in message
    assert "local_repos" in message


def test_a_git_failure_while_the_dojo_starts_makes_the_backend_unavailable() -> None:
    from git.exc import GitCommandError

    script = standard_script()
    script.init_error = GitCommandError(["git", "checkout", "2fc983be"], 1, stderr="error: pathspec")
    with pytest.raises(BackendUnavailableError, match=r"opening 't'.*GitCommandError"):
        make_backend(script).open(THEOREM)
    assert script.processes[0].exited


def test_a_file_path_that_is_not_lean_source_is_refused_before_leandojo() -> None:
    script = standard_script()
    theorem = replace(THEOREM, locator=replace(LOCATOR, file_path="MiniF2F/Valid.olean"))
    with pytest.raises(InvalidTheoremError, match=r"file_path 'MiniF2F/Valid.olean' is not a .lean file"):
        make_backend(script).open(theorem)
    assert script.processes == []


def test_leandojos_own_theorem_assertions_are_invalid_theorems() -> None:
    ld = real_lean_dojo()
    script = standard_script()

    def theorem(repo: object, path: str, name: str) -> object:  # LeanDojo's Theorem, with a stricter name
        assert name.isidentifier(), f"Invalid full name: {name}"
        return ld.Theorem(repo, path, name)

    backend = LeanDojoBackend(LeanDojoConfig(), api=replace(fake_api(script), Theorem=theorem))
    bad = replace(THEOREM, locator=replace(LOCATOR, full_name="t t"))
    with pytest.raises(InvalidTheoremError, match="LeanDojo refused its locator: Invalid full name: t t"):
        backend.open(bad)
