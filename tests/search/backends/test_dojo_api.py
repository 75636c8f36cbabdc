"""Loading LeanDojo lazily: the environment it must see at import, and import failures as typed errors."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from search.backends.lean.dojo_api import apply_environment, load_dojo_api
from search.backends.lean.dojo_config import LeanDojoConfig, dojo_environment
from search.backends.lean.dojo_session import dojo_arguments
from search.errors import BackendUnavailableError

NAMES = ("Dojo", "Theorem", "LeanGitRepo", "TacticState", "ProofFinished", "LeanError", "ProofGivenUp",
         "DojoCrashError", "DojoTacticTimeoutError", "DojoInitError")


def fake_module(**extra: Any) -> SimpleNamespace:
    return SimpleNamespace(**{name: type(name, (Exception,), {}) for name in NAMES}, __version__="4.20.0",
                           **extra)


def test_environment_of_an_offline_config(tmp_path: Path) -> None:
    config = LeanDojoConfig(offline=True, cache_dir="/c", tmp_dir=str(tmp_path / "t"), cpu_limit=2,
                            memory_limit_gb=16)
    assert dojo_environment(config) == {
        "CACHE_DIR": "/c", "TMP_DIR": str(tmp_path / "t"), "DISABLE_REMOTE_CACHE": "1",
        "RAY_USAGE_STATS_ENABLED": "0", "TACTIC_CPU_LIMIT": "2", "TACTIC_MEMORY_LIMIT": "16g",
    }
    assert dojo_environment(LeanDojoConfig()) == {}


def test_apply_environment_sets_variables_and_creates_tmp_dir(tmp_path: Path) -> None:
    environ = {"CACHE_DIR": "/old"}
    apply_environment(LeanDojoConfig(cache_dir="/new", tmp_dir=str(tmp_path / "tmp")), environ)
    assert environ["CACHE_DIR"] == "/new" and (tmp_path / "tmp").is_dir()


def test_offline_with_a_github_token_is_refused_before_import() -> None:
    imported: list[str] = []
    with pytest.raises(BackendUnavailableError, match="GITHUB_ACCESS_TOKEN"):
        load_dojo_api(LeanDojoConfig(offline=True), environ={"GITHUB_ACCESS_TOKEN": "ghp_x"},
                      importer=imported.append, loaded={})
    assert imported == []


def test_the_import_sees_the_environment_and_returns_the_api() -> None:
    environ: dict[str, str] = {}
    seen: dict[str, str] = {}

    def importer(name: str) -> SimpleNamespace:
        seen.update(environ)
        return fake_module(get_traced_repo_path=lambda repo, build_deps=True: "/traced")

    api = load_dojo_api(LeanDojoConfig(offline=True), environ=environ, importer=importer, loaded={})
    assert seen["DISABLE_REMOTE_CACHE"] == "1" and api.version == "4.20.0"
    assert api.get_traced_repo_path is not None and api.get_traced_repo_path(None) == "/traced"


@pytest.mark.parametrize(("error", "words"), [
    (ImportError("No module named 'lean_dojo'"), "pip install lean-dojo"),
    (OSError("ProxyError: api.github.com"), "unset GITHUB_ACCESS_TOKEN"),
])
def test_import_failures_make_the_backend_unavailable(error: Exception, words: str) -> None:
    def importer(name: str) -> Any:
        raise error

    with pytest.raises(BackendUnavailableError) as caught:
        load_dojo_api(LeanDojoConfig(), environ={"GITHUB_ACCESS_TOKEN": "ghp_x"}, importer=importer,
                      loaded={})
    assert words in str(caught.value)


def test_the_real_package_exposes_what_the_backend_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACCESS_TOKEN", raising=False)
    pytest.importorskip("lean_dojo")
    api = load_dojo_api(LeanDojoConfig(), environ={})
    assert api.version.startswith("4.") and api.get_traced_repo_path is not None
    assert issubclass(api.DojoTacticTimeoutError, Exception)


@pytest.mark.parametrize("local_repos", [("no-equals-sign",), ("=/path",), ("https://x/y=",)])
def test_local_repos_must_be_url_path_pairs(local_repos: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="URL=PATH"):
        LeanDojoConfig(local_repos=local_repos)
    config = LeanDojoConfig(local_repos=("https://github.com/a/b=/clones/b",))
    assert config.local_repo("https://github.com/a/b") == "/clones/b"
    assert config.local_repo("https://github.com/a/c") == "https://github.com/a/c"


def test_dojo_arguments_follow_the_installed_signature() -> None:
    config = LeanDojoConfig(timeout=90.5, additional_imports=("Mathlib.Tactic",), build_deps=True)

    def older(entry: Any, timeout: int = 600, additional_imports: list[str] | None = None) -> None: ...

    def newer(entry: Any, timeout: int = 600, additional_imports: list[str] | None = None,
              build_deps: bool = True) -> None: ...

    assert dojo_arguments(older, config) == {"timeout": 91, "additional_imports": ["Mathlib.Tactic"]}
    assert dojo_arguments(newer, config)["build_deps"] is True
