"""Configuration of the LeanDojo backend, and the environment variables LeanDojo reads at import.

LeanDojo (pip ``lean-dojo``) reads ``CACHE_DIR``, ``TMP_DIR``, ``DISABLE_REMOTE_CACHE``, ``TACTIC_CPU_LIMIT``
and ``TACTIC_MEMORY_LIMIT`` once, when ``lean_dojo`` is first imported; ``dojo_environment`` computes them
from this config so that the (lazy) import sees them. See ``../shared/leandojo/API-NOTES.md`` §4 for what
needs the network: ``offline=True`` sets ``DISABLE_REMOTE_CACHE`` and refuses a ``GITHUB_ACCESS_TOKEN``
(with it set, ``import lean_dojo`` calls api.github.com and fails offline).
"""

from __future__ import annotations

from dataclasses import dataclass

from search.validation import MAX_SECONDS, Validated, setting


@dataclass(frozen=True, kw_only=True)
class LeanDojoConfig(Validated):
    """Validated settings of the LeanDojo backend. Times are seconds."""

    config_name = "LeanDojo configuration"

    timeout: float = setting(
        600.0, above=0,
        max=MAX_SECONDS,
        help="time limit of opening a theorem (LeanDojo's per-read timeout while Lean imports the file's "
             "dependencies, e.g. all of Mathlib, and elaborates the file up to it)")
    tactic_timeout: float = setting(12.0, above=0, max=MAX_SECONDS,
        help="default time limit of one tactic, in seconds")
    additional_imports: tuple[str, ...] = setting(
        (), pattern=(r"\S+", "module names"),
        help="extra modules imported before the theorem's file (`import X`)")
    build_deps: bool = setting(
        False, help="let LeanDojo build dependencies (Mathlib) from source if it must trace the repository: "
                    "hours of CPU; False fetches Mathlib's build cache instead")
    local_repos: tuple[str, ...] = setting(
        (), check=lambda repos: _pairs_problem("local_repos", repos),
        help="URL=PATH pairs: a local git clone (at the theorem's commit) used instead of the repository "
             "URL; needed offline, where a GitHub URL makes LeanDojo call the API")
    cache_dir: str | None = setting(
        None, help="LeanDojo's CACHE_DIR holding traced repositories (default ~/.cache/lean_dojo)")
    tmp_dir: str | None = setting(None, help="LeanDojo's TMP_DIR for tracing; created if missing")
    offline: bool = setting(
        False, help="never touch the network: sets DISABLE_REMOTE_CACHE=1 and RAY_USAGE_STATS_ENABLED=0, "
                    "refuses GITHUB_ACCESS_TOKEN, requires local_repos")
    cpu_limit: int | None = setting(
        None, min=1, help="Lean threads per theorem (TACTIC_CPU_LIMIT; LeanDojo default 1)")
    memory_limit_gb: int | None = setting(
        None, min=1, help="Lean memory per theorem in GB (TACTIC_MEMORY_LIMIT; LeanDojo default 32)")
    verify_project: str | None = setting(
        None, help="Lake project in which whole proofs are checked (its packages must match the theorem's "
                   "header); default: the theorem's traced repository in CACHE_DIR")
    verify_timeout: float = setting(
        600.0, above=0, max=MAX_SECONDS, help="time limit of checking a whole proof, in seconds")
    lake: str = setting("lake", nonblank=True, help="the `lake` command used to check whole proofs")
    max_tactic_length: int = setting(4096, min=1, help="longest tactic (characters) sent to Lean")

    def local_repo(self, url: str) -> str:
        """The local clone configured for repository ``url``, or ``url`` itself."""
        for entry in self.local_repos:
            key, _, path = entry.partition("=")
            if key.strip() == url:
                return path.strip()
        return url


def _pairs_problem(name: str, entries: tuple[str, ...]) -> str | None:
    return None if all(map(_is_pair, entries)) else f"{name} entries are URL=PATH, got {entries!r}"


def _is_pair(entry: str) -> bool:
    """``URL=PATH`` with both sides non-empty."""
    url, sep, path = entry.partition("=")
    return bool(sep and url.strip() and path.strip())


def dojo_environment(config: LeanDojoConfig) -> dict[str, str]:
    """The environment variables ``lean_dojo`` must see when it is first imported."""
    env: dict[str, str] = {}
    if config.cache_dir is not None:
        env["CACHE_DIR"] = config.cache_dir
    if config.tmp_dir is not None:
        env["TMP_DIR"] = config.tmp_dir
    if config.offline:
        env["DISABLE_REMOTE_CACHE"] = "1"
        env["RAY_USAGE_STATS_ENABLED"] = "0"
    if config.cpu_limit is not None:
        env["TACTIC_CPU_LIMIT"] = str(config.cpu_limit)
    if config.memory_limit_gb is not None:
        env["TACTIC_MEMORY_LIMIT"] = f"{config.memory_limit_gb}g"
    return env
