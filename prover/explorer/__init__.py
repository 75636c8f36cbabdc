"""The search-graph explorer: an interactive, offline HTML view of a search's explored graph."""

from prover.explorer.model import explorer_model, node_label, node_link
from prover.explorer.page import CYTOSCAPE_VERSION, render_page, write_page, write_result_page
from prover.explorer.plan_pages import is_planned, planned_graphs, write_planned_pages

__all__ = ["CYTOSCAPE_VERSION", "explorer_model", "is_planned", "node_label", "node_link", "planned_graphs",
           "render_page", "write_page", "write_planned_pages", "write_result_page"]
