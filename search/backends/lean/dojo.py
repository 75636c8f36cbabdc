"""The LeanDojo backend: theorems from traced repositories, stepped through ``lean_dojo.Dojo``.

A theorem is found by its ``DojoLocator`` (repository URL, commit, file path, full name), exactly the
fields of the benchmark rows of ``minif2f*.jsonl``/``proofnet.jsonl``. Sessions are ``LeanDojoSession``s
(``dojo_session``); tactics pass ``check_lean_tactic`` first; proofs render as ``header`` + statement +
``by`` block (``search.lean_proof``) and are verified by ``LeanFileChecker`` (``lake env lean`` on the
whole file with ``#print axioms``, under a deadline), not by ``lean_dojo.check_proof`` (no timeout, no
axiom check).

Which versions work, and the offline settings, are in the README ("LeanDojo backend").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from search.backends.lean.dojo_api import DojoApi, load_dojo_api
from search.backends.lean.dojo_config import LeanDojoConfig
from search.backends.lean.dojo_session import ENVIRONMENT_ERRORS, OFFLINE_FIX, LeanDojoSession
from search.backends.lean.dojo_verify import LeanFileChecker
from search.backends.lean.safety import check_lean_tactic, check_lean_theorem
from search.backends.lean.safety_lexer import lex
from search.backends.lean.safety_theorem import declaration_start
from search.errors import BackendUnavailableError, InvalidTheoremError
from search.lean_proof import lean_theorem_text
from search.types import DojoLocator, Theorem, Verdict

logger = logging.getLogger(__name__)

NEEDS_LOCATOR = (
    "LeanDojo opens a theorem from a traced repository: it needs the repository URL, commit, file path "
    "and full name (a DojoLocator: repo_url, commit, file_path, full_name), as the rows of "
    "minif2f.jsonl and proofnet.jsonl carry; use the REPL backend for a theorem given only as text"
)
DOJO_KINDS = frozenset({"theorem", "lemma"})
GITHUB_FIX = ("a GitHub API limit or credential problem: set GITHUB_ACCESS_TOKEN, or work offline with "
              "local_repos")
GIT_COMMAND_FIX = "check git, the network and that the commit exists, or set local_repos to a local clone"


def declaration_keyword(statement: str) -> str | None:
    """``theorem``, ``instance``, ``def``... : the keyword of the statement's declaration, if readable."""
    tokens = lex(statement)
    start = declaration_start(tokens)
    return None if isinstance(start, str) else tokens[start].text


def repository_failure(name: str, url: str, commit: str,
                       exc: Exception) -> InvalidTheoremError | BackendUnavailableError:
    """The typed error for a ``GithubException`` or ``GitCommandError`` raised while LeanDojo fetched the
    repository of theorem ``name``: a repository GitHub answers 404 for is the locator's fault, the rest
    is the environment's."""
    command = getattr(exc, "command", None)  # GitCommandError: the git command line and its stderr
    if command is not None:
        words = " ".join(map(str, command)) if isinstance(command, list | tuple) else str(command)
        stderr = str(getattr(exc, "stderr", "") or "").strip().removeprefix("stderr:").strip(" '")
        return BackendUnavailableError(
            "dojo", f"fetching {url} at {commit}: `{words}` failed with status {getattr(exc, 'status', '?')}"
                    + (f": {stderr}" if stderr else ""), GIT_COMMAND_FIX)
    status = getattr(exc, "status", None)  # GithubException: the HTTP status and GitHub's answer
    data = getattr(exc, "data", None)
    detail = data.get("message") if isinstance(data, dict) else None
    if status == 404:
        return InvalidTheoremError(name, f"GitHub has no repository {url} (404): check its repo_url")
    return BackendUnavailableError(
        "dojo", f"GitHub API error for {url}: {status} {detail or exc}".rstrip(), GITHUB_FIX)


class LeanDojoBackend:
    """The ``Backend`` named ``dojo``.

    ``api`` replaces the lazily imported ``lean_dojo`` (tests pass fakes of ``Dojo``/``Theorem``/
    ``LeanGitRepo``); ``checker`` builds the whole-proof checker for a Lake project directory.
    """

    name = "dojo"

    def __init__(
        self,
        config: LeanDojoConfig | None = None,
        *,
        api: DojoApi | None = None,
        checker: Callable[[Path], LeanFileChecker] | None = None,
    ) -> None:
        self.config = config or LeanDojoConfig()
        self._api = api
        self._checker = checker or self._default_checker
        self._repos: dict[tuple[str, str], Any] = {}
        self._sessions: list[LeanDojoSession] = []

    def open(self, theorem: Theorem) -> LeanDojoSession:
        """Enter a Dojo at the theorem. Raises ``InvalidTheoremError`` for a theorem without locator, one
        that is not a ``theorem``/``lemma``, or one LeanDojo cannot find; ``BackendUnavailableError`` when
        LeanDojo or Lean cannot run."""
        locator = self._checked_locator(theorem)
        api = self.api()
        repo = self._repo(theorem.name, locator)
        try:
            dojo_theorem = api.Theorem(repo, locator.file_path, locator.full_name)
        except (AssertionError, ValueError) as exc:
            raise InvalidTheoremError(theorem.name, f"LeanDojo refused its locator: {exc}") from exc
        session = LeanDojoSession(theorem, dojo_theorem, api=api, config=self.config)
        self._sessions = [s for s in self._sessions if not s.closed]
        self._sessions.append(session)
        return session

    def check_tactic(self, tactic: str) -> str | None:
        return check_lean_tactic(tactic, max_length=self.config.max_tactic_length)

    def render_proof(self, theorem: Theorem, tactics: Sequence[str]) -> str:
        return lean_theorem_text(theorem.header, theorem.statement, tactics)

    def verify(self, theorem: Theorem, tactics: Sequence[str]) -> Verdict:
        """Check header + statement + proof as one file in a Lake project, with ``#print axioms``.

        Raises ``InvalidTheoremError`` for a refused theorem and ``BackendUnavailableError`` when no Lake
        project is known or ``lake`` cannot run; every other failure is a ``Verdict`` with ``ok=False``.
        """
        check_lean_theorem(theorem)
        if not tactics:
            return Verdict(False, ("a proof needs at least one tactic",))
        for number, tactic in enumerate(tactics, start=1):
            reason = self.check_tactic(tactic)
            if reason is not None:
                return Verdict(False, (f"tactic {number} refused: {reason}",))
        project = self._verify_project(theorem)
        return self._checker(project).verify(theorem.header, theorem.statement, tactics)

    def close(self) -> None:
        """Close every session this backend opened (closing one twice is harmless)."""
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    # -- helpers -------------------------------------------------------------------------------------

    def api(self) -> DojoApi:
        """The LeanDojo API, imported on first use with this config's environment."""
        if self._api is None:
            self._api = load_dojo_api(self.config)
        return self._api

    def _checked_locator(self, theorem: Theorem) -> DojoLocator:
        check_lean_theorem(theorem)
        locator = theorem.locator
        if locator is None:
            raise InvalidTheoremError(theorem.name, NEEDS_LOCATOR)
        if not locator.file_path.endswith(".lean"):
            raise InvalidTheoremError(
                theorem.name,
                f"file_path {locator.file_path!r} is not a .lean file: LeanDojo finds a theorem in the Lean "
                f"source file of its repository that declares it (e.g. MiniF2F/Test.lean)",
            )
        keyword = declaration_keyword(theorem.statement)
        if keyword is not None and keyword not in DOJO_KINDS:
            raise InvalidTheoremError(
                theorem.name,
                f"LeanDojo's Dojo opens only `theorem`/`lemma` declarations whose type is a Prop; this is "
                f"`{keyword}` (e.g. ProofNet's `instance` rows): use the REPL backend",
            )
        return locator

    def _repo(self, name: str, locator: DojoLocator) -> Any:
        """``LeanGitRepo`` for the locator of theorem ``name`` (a local clone from ``local_repos`` when
        configured). Raises ``InvalidTheoremError`` for a repository GitHub does not have, and
        ``BackendUnavailableError`` when git, GitHub or LeanDojo fail otherwise."""
        key = (locator.repo_url, locator.commit)
        if key in self._repos:
            return self._repos[key]
        url = self.config.local_repo(locator.repo_url)
        remote = url.startswith(("http://", "https://", "git@"))
        if self.config.offline and remote:
            raise BackendUnavailableError(
                "dojo", f"offline mode needs a local clone of {locator.repo_url}",
                f"add --dojo-local-repos {locator.repo_url}=/path/to/clone (at {locator.commit})",
            )
        if not remote and not (Path(url) / ".git").exists():  # LeanDojo would call it "not a valid URL"
            raise BackendUnavailableError(
                "dojo", f"the local clone of {locator.repo_url} at {url} is not a git clone (no {url}/.git)",
                f"clone it there (git clone {locator.repo_url} {url}) or fix --dojo-local-repos")
        api = self.api()
        try:
            repo = api.LeanGitRepo(url, locator.commit)
        except api.library_errors as exc:
            raise repository_failure(name, url, locator.commit, exc) from exc
        except ENVIRONMENT_ERRORS as exc:
            raise BackendUnavailableError("dojo", f"LeanGitRepo({url!r}, {locator.commit!r}): {exc!r}",
                                          OFFLINE_FIX) from exc
        self._repos[key] = repo
        return repo

    def _verify_project(self, theorem: Theorem) -> Path:
        """Where whole proofs are checked: ``verify_project``, else the theorem's traced repository."""
        if self.config.verify_project is not None:
            return Path(self.config.verify_project)
        api = self.api()
        if theorem.locator is None or api.get_traced_repo_path is None:
            raise BackendUnavailableError(
                "dojo", f"no Lake project to check {theorem.name!r} in",
                "set verify_project to a built Lake project (e.g. lean_project/)",
            )
        repo = self._repo(theorem.name, theorem.locator)
        try:
            return Path(api.get_traced_repo_path(repo, build_deps=self.config.build_deps))
        except (*ENVIRONMENT_ERRORS, *api.library_errors) as exc:
            raise BackendUnavailableError("dojo", f"finding the traced repository: {exc!r}",
                                          OFFLINE_FIX) from exc

    def _default_checker(self, project: Path) -> LeanFileChecker:
        config = self.config
        memory_mb = 1024 * config.memory_limit_gb if config.memory_limit_gb is not None else 32768
        tmp_dir = Path(config.tmp_dir) if config.tmp_dir is not None else None
        return LeanFileChecker(project=project, lake=config.lake, timeout=config.verify_timeout,
                               memory_mb=memory_mb, threads=config.cpu_limit or 1, tmp_dir=tmp_dir)
