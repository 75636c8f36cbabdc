"""Clean errors and logs: bad flags, verbatim proof-assistant messages, one line per warning, retries
summarised per endpoint, Ray's start-up notice."""

from __future__ import annotations

import argparse
import json
import logging
import sys

import pytest
from rich.console import Console

from prover.cli.logs import report_retries, setup_logging
from prover.cli.main import build_parser, main
from prover.parallel.ray_notice import RAY_TOKEN_LOGGER, quiet_ray_token_notice


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_a_mistyped_flag_is_one_usage_line_and_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["prove", "--backend", "coq", "--max-expansion", "5", "Theorem t : True."])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 2
    assert err[0].startswith("usage: prover prove [options] [statement]")
    assert err[1].endswith("error: unrecognized option: --max-expansion (did you mean --max-expansions?)")


def test_abbreviated_flags_are_refused_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    parsers = list(_parsers(parser))
    assert len(parsers) >= 6 and all(not p.allow_abbrev for p in parsers)
    with pytest.raises(SystemExit):
        main(["sweep", "coq_basic", "--max-expansion", "3"])
    assert "unrecognized option: --max-expansion (did you mean" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["prove", "--backend", "coq", "--max-expansion", "3", "Theorem t : 1 = 1.", "extra"])
    err = capsys.readouterr().err
    assert "unrecognized option: --max-expansion (" in err and "Theorem" not in err
    with pytest.raises(SystemExit):
        main(["prove", "--backend", "coqq", "x"])
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "invalid choice: 'coqq'" in err[1]


def test_coq_error_text_is_quoted_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "Theorem t : 1 + = 2."])
    err = capsys.readouterr().err
    assert code == 2
    assert "Syntax error: [term] expected after '+' (in [term])." in err  # rich markup would eat [term]


def _handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_prover_handler", False)]


def test_each_warning_is_shown_once(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(stderr=True)
    setup_logging(console, 0)
    setup_logging(console, 0)  # a second command in the same process replaces, never adds
    assert len(_handlers()) == 2  # the display and the retry counter
    assert not logging.getLogger("huggingface_hub").handlers  # its own stderr handler is gone
    logging.getLogger("huggingface_hub.file_download").warning("disk almost full")
    assert capsys.readouterr().err.count("disk almost full") == 1


def test_retries_become_one_line_per_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    retries = setup_logging(Console(stderr=True), 0)
    hub = logging.getLogger("huggingface_hub.utils._http")
    for attempt in range(1, 6):
        hub.warning("'[Errno -2] Name or service not known' thrown while requesting HEAD "
                    "https://huggingface.co/ByteDance-Seed/BFS-Prover-V2-7B/resolve/main/config.json")
        hub.warning("Retrying in %ds [Retry %d/5].", 2 ** attempt, attempt)
    endpoint = logging.getLogger("planner.endpoint")
    for _ in range(3):
        endpoint.warning("request failed (503); retrying in 0.50 s",
                         extra={"retry_endpoint": "http://gpu:8000/v1/completions", "retry_error": "503"})
    from loguru import logger as loguru_logger

    from search.backends.lean.dojo_api import route_loguru_to_logging

    route_loguru_to_logging()  # as the LeanDojo backend does after importing lean_dojo
    try:
        as_lean_dojo = loguru_logger.patch(lambda record: record.update(name="lean_dojo.utils"))
        as_lean_dojo.debug("Request to https://api.github.com/repos/x/y failed. Retrying...")
    finally:
        loguru_logger.remove()
        loguru_logger.add(sys.stderr)  # loguru's default, for other tests
    pool = logging.getLogger("urllib3.connectionpool")  # PyGithub's retries under LeanDojo
    for total in (9, 8):
        pool.warning("Retrying (GithubRetry(total=%d, connect=None, read=None, redirect=None, status=None)) "
                     "after connection broken by 'NewConnectionError('Failed to establish a new connection: "
                     "[Errno 101] Network is unreachable')': /repos/x/y", total)
    logging.getLogger("prover").warning("an ordinary warning")
    shown = capsys.readouterr().err
    assert "Retrying" not in shown and "thrown while requesting" not in shown and "503" not in shown
    assert "an ordinary warning" in shown
    report_retries(retries)
    summary = [line for line in capsys.readouterr().err.splitlines() if "retried" in line]
    assert len(summary) == 3
    hub_line = next(line for line in summary if "https://huggingface.co:" in line)
    assert "retried 5 time(s)" in hub_line and "Name or service not known" in hub_line
    for endpoint, error in (("http://gpu:8000/v1/completions", "503"),
                            ("https://api.github.com", "Errno 101")):
        assert any(f"{endpoint}: retried 3 time(s)" in line and error in line for line in summary)


def test_rays_token_notice_is_an_info_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Console(stderr=True), 1)
    quiet_ray_token_notice()
    quiet_ray_token_notice()  # idempotent
    ray_logger = logging.getLogger(RAY_TOKEN_LOGGER)
    assert len(ray_logger.filters) == 1
    notice, disabled = (ray_logger.makeRecord(RAY_TOKEN_LOGGER, logging.WARNING, __file__, 1, text, (), None)
                        for text in ("Token authentication is enabled for this Ray cluster. Set "
                                        "RAY_AUTH_MODE=disabled to opt out.",
                                        "Token authentication is disabled for this Ray cluster. Anyone with "
                                        "network access can run arbitrary code"))
    assert not ray_logger.filter(notice)  # Ray's own notice is not shown (Ray's handler or ours)
    assert ray_logger.filter(disabled)  # a real warning stays one
    assert "local cluster with token authentication" in capsys.readouterr().err  # ours, at INFO (-v)


def test_an_abbreviated_flag_is_named_with_the_one_it_abbreviates(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sweep", "coq_basic", "--max-exp", "3"])
    assert caught.value.code == 2
    assert capsys.readouterr().err.strip().endswith("--max-exp (did you mean --max-expansions?)")


def test_a_mistyped_command_or_row_name_gets_the_closest_one(tmp_path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["repot", "x"])
    err = capsys.readouterr().err.splitlines()
    assert info.value.code == 2 and len(err) == 2 and err[1].endswith("(did you mean report?)")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"name": n, "header": "", "statement": f"Theorem {n} : True."}) + "\n"
                            for n in ("amc12a_2020_p21", "mathd_algebra_11")))
    code = main(["prove", "--backend", "coq", "--file", str(rows), "--name", "amc12a_2020p21"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "no row named 'amc12a_2020p21' (did you mean 'amc12a_2020_p21'?)" in err
