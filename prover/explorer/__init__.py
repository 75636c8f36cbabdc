"""The search-graph explorer: an interactive, offline HTML view of a search's explored graph."""

from prover.explorer.model import explorer_model, node_label, node_link
from prover.explorer.page import CYTOSCAPE_VERSION, render_page, write_page, write_result_page

__all__ = ["CYTOSCAPE_VERSION", "explorer_model", "node_label", "node_link", "render_page", "write_page",
           "write_result_page"]
