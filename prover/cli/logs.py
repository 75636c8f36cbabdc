"""Logging of the ``prover`` command: one handler, each message once, retries summarised.

- One display handler on the root logger (rich on a terminal, plain lines otherwise). huggingface_hub adds
  its own stderr handler when imported and also propagates to the root, which printed each of its
  warnings twice; it is removed here, so its records are shown once, by the root handler.
- Retries are not shown one by one (a model hub that cannot be reached used to print ~100 lines): a
  counting handler records them per endpoint, and ``RetryLog.summary()`` gives one line per endpoint
  with the count and the last error, which ``prover`` prints when the command ends. Retries recognised:
  huggingface_hub's HTTP retries, LeanDojo's (forwarded from loguru by the LeanDojo backend, at DEBUG),
  urllib3's (PyGithub's ``GithubRetry`` under LeanDojo, whose messages name the path but not the host:
  GitHub's API is the host PyGithub talks to), and the project's own endpoint retries
  (``planner.endpoint``, records carrying ``retry_endpoint``).
- Ray's token-authentication notice is handled where the sweep starts its cluster
  (``prover.parallel.ray_notice``).
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

from rich.console import Console
from rich.logging import RichHandler

logger = logging.getLogger(__name__)

_MARK = "_prover_handler"
_HUB_FAILURE = re.compile(r"'(?P<error>.*)' thrown while requesting (?P<method>[A-Z]+) (?P<url>\S+)",
                          re.DOTALL)
_HUB_RETRY = re.compile(r"^Retrying in [\d.]+s \[Retry \d+/\d+\]")
_DOJO_RETRY = re.compile(
    r"^(?:Request to (?P<url>\S+)|url_to_repo\(\"(?P<repo>[^\"]+)\"\)) failed\. Retrying")
_URLLIB3_RETRY = re.compile(r"^Retrying \((?P<policy>\w+)\(.*?\)\) after connection broken by "
                            r"'(?P<error>.*)': (?P<path>\S*)\s*$", re.DOTALL)
GITHUB_API = "https://api.github.com"


@dataclass
class EndpointRetries:
    count: int = 0
    last_error: str = ""


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else url


def retry_of(record: logging.LogRecord) -> tuple[str, str | None] | None:
    """``(endpoint, error or None)`` when ``record`` reports a retry, else ``None``. An error of ``None``
    means the retry belongs to the endpoint of the failure reported just before it."""
    endpoint = getattr(record, "retry_endpoint", None)
    if endpoint is not None:
        return str(endpoint), str(getattr(record, "retry_error", "") or record.getMessage())
    if record.name.startswith("huggingface_hub"):
        message = record.getMessage()
        failure = _HUB_FAILURE.search(message)
        if failure is not None:
            return _endpoint(failure["url"]), f"{failure['error']} ({failure['method']} {failure['url']})"
        if _HUB_RETRY.match(message):
            return "", None
    elif record.name.startswith("urllib3"):
        match = _URLLIB3_RETRY.match(record.getMessage())
        if match is not None:
            endpoint = GITHUB_API if match["policy"] == "GithubRetry" else f"{match['policy']} requests"
            return endpoint, f"{match['error'][:200]} ({match['path']})"
    elif record.name.startswith("lean_dojo"):
        match = _DOJO_RETRY.match(record.getMessage())
        if match is not None:
            url = match["url"] or match["repo"]
            return _endpoint(url), f"request to {url} failed"
    return None


class RetryLog(logging.Handler):
    """Counts retries per endpoint (prints nothing); ``summary()`` is one line per endpoint."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.endpoints: dict[str, EndpointRetries] = {}
        self._last = ""

    def emit(self, record: logging.LogRecord) -> None:
        retry = retry_of(record)
        if retry is None:
            return
        endpoint, error = retry
        if error is None:  # "Retrying in 2s": the count goes to the endpoint that just failed
            if self._last in self.endpoints:
                return
            endpoint, error = self._last or "unknown endpoint", ""
        entry = self.endpoints.setdefault(endpoint, EndpointRetries())
        entry.count += 1
        entry.last_error = error or entry.last_error
        self._last = endpoint

    def summary(self) -> list[str]:
        return [f"{endpoint}: retried {entry.count} time(s); last error: {entry.last_error}"
                for endpoint, entry in self.endpoints.items()]


class _PlainFormatter(logging.Formatter):
    """``warning: message`` as the CLI's ``error: message``; with ``-v`` the logger's name too."""

    def __init__(self, *, with_names: bool) -> None:
        named = "%(levelname)s %(name)s: %(message)s"
        super().__init__(named if with_names else "%(levelname)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__ | {"levelname": record.levelname.lower()})
        return super().format(record)


class _NoRetries(logging.Filter):
    """Keeps retry records off the display (``RetryLog`` summarises them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return retry_of(record) is None


def setup_logging(console: Console, verbosity: int) -> RetryLog:
    """Install the display and retry handlers on the root logger (replacing those of an earlier call);
    ``verbosity`` 0 shows warnings, 1 info, 2 debug. Returns the retry log to summarise at the end."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
    level = logging.WARNING - 10 * min(verbosity, 2)
    display: logging.Handler
    if console.is_terminal:
        display = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
    else:
        display = logging.StreamHandler(sys.stderr)
        display.setFormatter(_PlainFormatter(with_names=verbosity > 0))
    display.setLevel(level)
    display.addFilter(_NoRetries())
    retries = RetryLog()
    for handler in (display, retries):
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("lean_dojo").setLevel(logging.DEBUG)  # its retries are DEBUG: count them all
    _drop_library_handlers()
    return retries


def _drop_library_handlers() -> None:
    """huggingface_hub installs a stderr handler at import and propagates too (each warning twice)."""
    import huggingface_hub.utils.logging  # noqa: F401 - importing installs the handler removed here

    hub = logging.getLogger("huggingface_hub")
    for handler in list(hub.handlers):
        if type(handler) is logging.StreamHandler:
            hub.removeHandler(handler)


def report_retries(retries: RetryLog) -> None:
    """Log the one-line-per-endpoint summary of the retries seen since the last report (nothing when there
    were none)."""
    for line in retries.summary():
        logger.warning("%s", line)
    retries.endpoints.clear()
