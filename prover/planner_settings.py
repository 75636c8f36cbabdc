"""What ``--planner`` (or a config file's ``[planner]`` table) asks for: the planner model and the
orchestration, as one picklable value that the run spec carries to every sweep worker.

Plain data, below the CLI: ``prover.run_spec`` and the sweep workers use it without the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner import PlannerClientConfig, PlannerConfig


@dataclass(frozen=True)
class PlannerSettings:
    """The planner's client settings and orchestration settings. Picklable, so each sweep worker builds
    its own client (``prove_with_planner(..., client_config=settings.client)``)."""

    client: PlannerClientConfig
    planner: PlannerConfig

    @property
    def label(self) -> str:
        """Names the planner in sweep records."""
        return f"{self.client.provider}:{self.client.model or '$PLANNER_MODEL'}"
