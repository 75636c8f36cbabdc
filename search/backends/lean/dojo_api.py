"""The part of the ``lean_dojo`` package the backend uses, loaded lazily and injectable in tests.

Importing ``lean_dojo`` has side effects (it reads ``.env`` and environment variables once, checks git,
and with ``GITHUB_ACCESS_TOKEN`` set calls the GitHub API), so it is imported only when a LeanDojo theorem
is opened, after ``dojo_environment`` was applied. Tests pass a ``DojoApi`` whose ``Dojo``, ``Theorem`` and
``LeanGitRepo`` are fakes while the result and exception classes are LeanDojo's real ones.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.backends.lean.dojo_config import LeanDojoConfig, dojo_environment
from search.errors import BackendUnavailableError

logger = logging.getLogger(__name__)

INSTALL_FIX = "pip install lean-dojo (see the README for the versions that work)"
TOKEN_FIX = "unset GITHUB_ACCESS_TOKEN (with it set, importing lean_dojo calls api.github.com)"
GIT_FIX = "install git (>= 2.25) and put it on PATH: LeanDojo runs it when imported and to fetch repositories"
# Exceptions of LeanDojo's dependencies that mean the environment failed (see ``library_errors``).
LIBRARY_ERRORS = (("github.GithubException", "GithubException"), ("git.exc", "GitCommandError"))


@dataclass(frozen=True)
class DojoApi:
    """Handles on LeanDojo's interaction API (``lean_dojo.interaction.dojo``) and data types."""

    Dojo: Callable[..., Any]
    Theorem: Callable[..., Any]
    LeanGitRepo: Callable[..., Any]
    # LeanDojo's reply classes, loaded at run time: ``type[Any]`` since lean_dojo ships no type hints
    TacticState: type[Any]
    ProofFinished: type[Any]
    LeanError: type[Any]
    ProofGivenUp: type[Any]
    DojoCrashError: type[Exception]
    DojoTacticTimeoutError: type[Exception]
    DojoInitError: type[Exception]
    get_traced_repo_path: Callable[..., Any] | None = None
    version: str = "unknown"
    # PyGithub's GithubException (API errors, rate limits, a repository GitHub does not have) and
    # GitPython's GitCommandError (a clone, fetch or checkout that failed), which LeanDojo lets through
    library_errors: tuple[type[Exception], ...] = ()


def api_from_module(module: Any) -> DojoApi:
    """A ``DojoApi`` over an imported ``lean_dojo`` module."""
    return DojoApi(
        Dojo=module.Dojo, Theorem=module.Theorem, LeanGitRepo=module.LeanGitRepo,
        TacticState=module.TacticState, ProofFinished=module.ProofFinished, LeanError=module.LeanError,
        ProofGivenUp=module.ProofGivenUp, DojoCrashError=module.DojoCrashError,
        DojoTacticTimeoutError=module.DojoTacticTimeoutError, DojoInitError=module.DojoInitError,
        get_traced_repo_path=getattr(module, "get_traced_repo_path", None),
        version=str(getattr(module, "__version__", "unknown")),
        library_errors=library_errors(),
    )


def library_errors(importer: Callable[[str], Any] = importlib.import_module) -> tuple[type[Exception], ...]:
    """The classes of ``LIBRARY_ERRORS`` that can be imported (``lean_dojo`` imported them already)."""
    found = []
    for module_name, name in LIBRARY_ERRORS:
        try:
            found.append(getattr(importer(module_name), name))
        except (ImportError, AttributeError):
            logger.debug("%s.%s not importable: LeanDojo's errors from it are not recognised",
                         module_name, name)
    return tuple(found)


def apply_environment(config: LeanDojoConfig, environ: MutableMapping[str, str]) -> None:
    """Put the config's LeanDojo settings into ``environ``; raises ``BackendUnavailableError`` for an
    offline config with ``GITHUB_ACCESS_TOKEN`` set. Creates ``TMP_DIR`` (LeanDojo requires it to exist)."""
    if config.offline and environ.get("GITHUB_ACCESS_TOKEN"):
        raise BackendUnavailableError("dojo", "offline mode with GITHUB_ACCESS_TOKEN set", TOKEN_FIX)
    wanted = dojo_environment(config)
    for key, value in wanted.items():
        if environ.get(key) not in (None, value):
            logger.info("LeanDojo setting %s=%s replaces %s", key, value, environ[key])
        environ[key] = value
    tmp_dir = wanted.get("TMP_DIR") or environ.get("TMP_DIR")
    if tmp_dir:
        Path(tmp_dir).mkdir(parents=True, exist_ok=True)


def load_dojo_api(
    config: LeanDojoConfig,
    *,
    environ: MutableMapping[str, str] | None = None,
    importer: Callable[[str], Any] = importlib.import_module,
    loaded: Mapping[str, Any] | None = None,
) -> DojoApi:
    """Apply the config's environment, import ``lean_dojo`` and return its API.

    Raises ``BackendUnavailableError`` when the package is missing or its import fails (typically a
    network call made because ``GITHUB_ACCESS_TOKEN`` is set, or git missing or older than 2.25). A second
    call reuses the imported module; settings read at import cannot change any more and a mismatch is
    logged.
    """
    environ = os.environ if environ is None else environ
    modules = loaded if loaded is not None else sys.modules
    already = "lean_dojo" in modules
    apply_environment(config, environ)
    try:
        module = importer("lean_dojo")
    except ImportError as exc:
        if "git executable" in str(exc):  # GitPython, imported by lean_dojo, found no working git
            raise BackendUnavailableError("dojo", f"importing lean_dojo failed: {exc}", GIT_FIX) from exc
        raise BackendUnavailableError("dojo", f"lean_dojo cannot be imported: {exc}", INSTALL_FIX) from exc
    except subprocess.SubprocessError as exc:  # its `git --version` check at import
        raise BackendUnavailableError("dojo", f"importing lean_dojo failed: {_command_failure(exc)}",
                                      GIT_FIX) from exc
    except (OSError, AssertionError, RuntimeError) as exc:
        fix = TOKEN_FIX if environ.get("GITHUB_ACCESS_TOKEN") else "check git (>= 2.25) and the network"
        raise BackendUnavailableError("dojo", f"importing lean_dojo failed: {exc!r}", fix) from exc
    if already:
        _warn_on_stale_constants(module, config)
    else:
        route_loguru_to_logging()
    return api_from_module(module)


def route_loguru_to_logging() -> None:
    """LeanDojo logs through loguru straight to stderr, DEBUG included (it sets that up at its import);
    send those records through the standard ``logging`` tree instead (loggers ``lean_dojo.*``, same
    levels), so that the application's handlers filter, format and summarise them like any library's."""
    try:
        from loguru import logger as loguru_logger
    except ImportError:
        return
    loguru_logger.remove()
    loguru_logger.add(_forward_loguru, level=0, format="{message}")


def _forward_loguru(message: Any) -> None:
    record = message.record
    logging.getLogger(record["name"] or "lean_dojo").log(record["level"].no, "%s", record["message"])


def _command_failure(exc: subprocess.SubprocessError) -> str:
    """What a failed command LeanDojo ran says, in words (status 127: the shell did not find it)."""
    if isinstance(exc, subprocess.CalledProcessError):
        command = exc.cmd if isinstance(exc.cmd, str) else " ".join(map(str, exc.cmd))
        if exc.returncode == 127:
            return f"it runs `{command}`, and the shell found no such command (exit status 127)"
        return f"`{command}` exited with status {exc.returncode}"
    return repr(exc)


def _warn_on_stale_constants(module: Any, config: LeanDojoConfig) -> None:
    """LeanDojo froze its settings at its first import; say so when this config wants others."""
    constants = getattr(module, "constants", None)
    cache_dir = getattr(constants, "CACHE_DIR", None)
    if config.cache_dir is not None and cache_dir is not None and Path(config.cache_dir) != Path(cache_dir):
        logger.warning("lean_dojo was imported with CACHE_DIR=%s; cache_dir=%s has no effect",
                       cache_dir, config.cache_dir)
    if config.offline and constants is not None and not getattr(constants, "DISABLE_REMOTE_CACHE", True):
        logger.warning("lean_dojo was imported without DISABLE_REMOTE_CACHE; offline mode is incomplete")
