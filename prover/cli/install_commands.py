"""``prover doctor`` (what this machine has for proving, rendered from ``doctor.doctor_report``) and
``prover setup`` (install Lean with ``setup_lean``)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.text import Text


def run_doctor(args: argparse.Namespace, console: Console) -> int:
    """Exit 0 when every required check passed (with ``--backend``: that backend's), 1 otherwise (a
    missing GPU is reported, not a failure); a line says which backends are ready, so that a Coq-only
    machine reads as ready for Coq."""
    from rich.table import Table

    from prover.cli.doctor import backend_readiness, doctor_report

    checks = doctor_report(args.project_dir)
    table = Table(title="prover doctor")
    for column in ("", "check", "detail"):
        table.add_column(column)
    for check in checks:
        mark = "[green]ok[/]" if check.ok else "[yellow]absent[/]" if check.optional else "[red]missing[/]"
        table.add_row(mark, check.name, Text(check.detail))
    out = Console()
    out.print(table)
    fixes = [check for check in checks if not check.ok and check.fix]
    if fixes:
        out.print("To fix:")
        for check in fixes:  # plain lines, so that long commands stay whole and copyable
            print(f"  {check.name}: {check.fix}")
    readiness = backend_readiness(checks)
    ready = [backend for backend, missing in readiness.items() if not missing]
    not_ready = [f"{backend} (needs {', '.join(missing)})"
                 for backend, missing in readiness.items() if missing]
    print("backends ready: " + (", ".join(ready) or "none")
          + (f"; not ready: {'; '.join(not_ready)}" if not_ready else ""))
    if args.backend is not None:
        return 0 if not readiness[args.backend] else 1
    return 0 if all(check.ok or check.optional for check in checks) else 1


def run_setup(args: argparse.Namespace, console: Console) -> int:
    from prover.cli.setup_lean import setup_lean

    steps = setup_lean(args.project_dir, dry_run=args.dry_run)
    for step in steps:
        print(step.command if args.dry_run else f"done: {step.name}")
    return 0
