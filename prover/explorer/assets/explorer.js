// The search-graph explorer: draws the model in #graph-data with Cytoscape.js.
// Every text from the search (states, tactics, messages) is untrusted: it is only ever set as textContent.
(function () {
  "use strict";

  const body = document.body;

  function fail(message) {
    body.dataset.ready = "error";
    body.dataset.error = message;
    const box = document.createElement("p");
    box.className = "error";
    box.textContent = "The graph could not be drawn: " + message;
    (document.getElementById("cy") || body).appendChild(box);
  }

  // any error while the page is drawn is shown on it (and in data-error), never left in the console alone
  try {
    draw(JSON.parse(document.getElementById("graph-data").textContent));
  } catch (error) {
    fail(String(error));
  }

  function draw(model) {
    if (typeof cytoscape !== "function") {
      fail("Cytoscape.js did not load (cytoscape.min.js must sit beside this page)");
      return;
    }

    const fmt = (x) => (x === null || x === undefined ? "–" : Number(x).toFixed(3));
    const shorten = (text, n) => (text.length > n ? text.slice(0, n - 1) + "…" : text);

    function el(tag, text, className) {
      const node = document.createElement(tag);
      if (text !== undefined && text !== null) node.textContent = text;
      if (className) node.className = className;
      return node;
    }

    // --- elements ---------------------------------------------------------------------------------
    const stepOf = {};  // element id -> the replay step at which it appears
    const expandStepOf = {};  // node id -> the step of its expansion
    model.steps.forEach((step, i) => {
      if (step.kind === "edge") stepOf[step.edge] = i + 1;
      else if (step.kind === "expand") expandStepOf[step.node] = i + 1;
      else stepOf["f-" + step.node + "-" + step.index] = i + 1;
    });

    const elements = [];
    for (const node of model.nodes) {
      elements.push({group: "nodes", classes: "state " + node.status + (node.id === "n0" ? " root" : ""),
        data: {id: node.id, label: node.label, step: node.created,
               expandStep: expandStepOf[node.id] === undefined ? Infinity : expandStepOf[node.id]}});
      node.failures.forEach((failure, index) => {
        const id = "f-" + node.id + "-" + index;
        elements.push({group: "nodes", classes: "failure " + failure.outcome,
          data: {id: id, label: "✗", owner: node.id, index: index, step: stepOf[id] || 0}});
        elements.push({group: "edges", classes: "failed " + failure.outcome,
          data: {id: "fe-" + node.id + "-" + index, source: node.id, target: id, owner: node.id, index: index,
                 label: shorten(failure.tactic, 28), step: stepOf[id] || 0}});
      });
    }
    for (const edge of model.edges) {
      const label = shorten(edge.tactic, 28) + (edge.logprob === null ? "" : " (" + fmt(edge.logprob) + ")");
      elements.push({group: "edges", classes: "tactic " + edge.outcome + (edge.on_proof ? " on-proof" : ""),
        data: {id: edge.id, source: edge.source, target: edge.target, label: label,
               step: stepOf[edge.id] || 0}});
    }
    const nodeById = Object.fromEntries(model.nodes.map((n) => [n.id, n]));
    const edgeById = Object.fromEntries(model.edges.map((e) => [e.id, e]));

    const colours = {root: "#4c78a8", proof: "#2ca02c", expanded: "#4c78a8", "dead-end": "#e45756",
                     open: "#c7c7c7", proved: "#f2b701"};
    const style = [
      {selector: "node.state", style: {"background-color": "#c7c7c7", "label": "data(label)",
        "font-size": 9, "text-valign": "bottom", "text-margin-y": 3, "color": "#333", "width": 18,
        "height": 18, "text-max-width": 160, "text-wrap": "ellipsis", "border-width": 1,
        "border-color": "#000", "border-opacity": 0.2}},
      ...Object.entries(colours).map(([status, colour]) => (
        {selector: "node.state." + status, style: {"background-color": colour}})),
      {selector: "node.root", style: {"border-width": 3, "border-color": "#111", "width": 24, "height": 24}},
      {selector: "node.proof", style: {"width": 24, "height": 24}},
      {selector: "node.proved", style: {"shape": "star", "width": 30, "height": 30}},
      {selector: "node.pending", style: {"background-color": colours.open}},
      {selector: "node.failure", style: {"shape": "round-rectangle", "width": 10, "height": 10,
        "background-color": "#f4b6b6", "label": "", "border-width": 0}},
      {selector: "node.failure.timeout", style: {"background-color": "#f6d28b"}},
      {selector: "node.failure.filtered", style: {"background-color": "#cab2d6"}},
      {selector: "edge", style: {"width": 1.2, "line-color": "#9a9a9a", "target-arrow-color": "#9a9a9a",
        "target-arrow-shape": "triangle", "arrow-scale": 0.7, "curve-style": "bezier", "font-size": 8,
        "color": "#444", "text-rotation": "autorotate", "text-background-color": "#fff",
        "text-background-opacity": 0.8, "text-background-padding": 1}},
      {selector: "edge.failed", style: {"line-style": "dashed", "line-color": "#e8a0a0",
        "target-arrow-color": "#e8a0a0", "width": 0.8}},
      {selector: "edge.on-proof", style: {"width": 3.5, "line-color": "#2ca02c",
        "target-arrow-color": "#2ca02c"}},
      {selector: "edge:loop", style: {"line-color": "#d0d0d0", "target-arrow-color": "#d0d0d0", "width": 0.8,
        "loop-direction": "-45deg", "loop-sweep": "-30deg", "control-point-step-size": 24}},
      {selector: ".with-label", style: {"label": "data(label)"}},
      {selector: "edge.with-label:loop", style: {"label": ""}},
      {selector: "edge:loop:selected", style: {"label": "data(label)"}},
      {selector: ".hidden, .future", style: {"display": "none"}},
      {selector: ".current", style: {"overlay-color": "#ff7f0e", "overlay-opacity": 0.35,
        "overlay-padding": 6}},
      {selector: ":selected", style: {"overlay-color": "#1f77b4", "overlay-opacity": 0.3,
        "overlay-padding": 5}},
    ];

    const cy = cytoscape({container: document.getElementById("cy"), elements: elements, style: style,
                          wheelSensitivity: 0.3, minZoom: 0.02, maxZoom: 4});
    const failureElements = cy.elements(".failure, .failed");
    failureElements.addClass("hidden");
    const main = cy.elements().not(failureElements);
    const depthOf = Object.fromEntries(model.nodes.map((n) => [n.id, n.depth === null ? 0 : n.depth]));
    // the model's (never Math.max(...depths): 100k spread arguments overflow the call stack)
    const maxDepth = model.max_depth + 1;
    const layouts = {
      breadthfirst: {name: "breadthfirst", directed: true, roots: cy.getElementById("n0"),
                     spacingFactor: 1.1},
      cose: {name: "cose", randomize: false, numIter: 600, nodeRepulsion: () => 8000},
      concentric: {name: "concentric", minNodeSpacing: 12,
                   concentric: (node) => (node.id() === "proved" ? 0 : maxDepth - (depthOf[node.id()] || 0)),
                   levelWidth: () => 1},
    };
    function runLayout(name) {
      main.layout({...layouts[name], animate: false, fit: true, padding: 24}).run();
      placeFailures();
    }
    // a link may choose the layout: page.html#layout=cose
    const layoutBox = document.getElementById("layout");
    const chosen = /(?:^#|&)layout=(\w+)/.exec(window.location.hash);
    layoutBox.value = chosen && layouts[chosen[1]] ? chosen[1] : "breadthfirst";
    runLayout(layoutBox.value);
    body.dataset.layout = layoutBox.value;
    layoutBox.addEventListener("change", () => {
      runLayout(layoutBox.value);
      body.dataset.layout = layoutBox.value;
    });

    function placeFailures() {
      // failed tactics fan out under their state, so they need no layout of their own
      cy.nodes(".failure").forEach((node) => {
        const owner = cy.getElementById(node.data("owner"));
        const total = nodeById[node.data("owner")].failures.length;
        const angle = Math.PI * (0.15 + 0.7 * (total === 1 ? 0.5 : node.data("index") / (total - 1)));
        const radius = 38 + 6 * Math.min(total, 12);
        const p = owner.position();
        node.position({x: p.x + radius * Math.cos(angle), y: p.y + radius * Math.sin(angle)});
      });
    }

    // --- summary ----------------------------------------------------------------------------------
    const summary = document.getElementById("summary");
    const verdict = el("span", model.proof ? "proved" : "not proved" + (model.stop_reason ? " (" +
      model.stop_reason + ")" : ""), model.proof ? "proved" : "unproved");
    summary.appendChild(verdict);
    const stats = model.stats || {};
    const parts = [model.counts.nodes + " nodes", model.counts.edges + " tactic edges",
                   model.counts.failures + " failed tactics"];
    if (stats.expansions !== undefined) parts.push(stats.expansions + " expansions");
    if (stats.wall_seconds !== undefined) parts.push(Number(stats.wall_seconds).toFixed(1) + " s");
    summary.appendChild(document.createTextNode(" · " + parts.join(" · ")));
    if (model.proof) {
      summary.appendChild(document.createTextNode(" · proof: "));
      summary.appendChild(el("code", model.proof.join(" ")));
    }

    // --- details panel ----------------------------------------------------------------------------
    const details = document.getElementById("details");

    function table(rows) {
      const t = el("table");
      for (const [key, value] of rows) {
        const tr = el("tr");
        tr.appendChild(el("td", key));
        tr.appendChild(el("td", value));
        t.appendChild(tr);
      }
      return t;
    }

    function failureItem(failure) {
      const li = el("li");
      li.appendChild(el("code", failure.tactic));
      li.appendChild(document.createTextNode(" " + failure.outcome + " (" + fmt(failure.logprob) + ")"));
      if (failure.message) li.appendChild(el("div", failure.message, "message"));
      return li;
    }

    function showNode(node) {
      details.replaceChildren();
      if (node.id === "proved") {
        details.appendChild(el("h2", "Proof closed"));
        details.appendChild(el("p", "The tactic into this node closed the last goal, and the whole proof " +
                                    "passed the proof assistant's verification."));
        if (model.proof) details.appendChild(el("pre", model.proof.join("\n")));
        return;
      }
      details.appendChild(el("h2", "State " + node.key + " · " + node.status));
      details.appendChild(table([["depth", String(node.depth)], ["score", fmt(node.priority)],
        ["log-prob sum", fmt(node.logprob_sum)],
        ["expanded", node.expanded ? "yes, expansion #" + (node.expansion === null ? "?" :
                                     node.expansion + 1) : "no"]]));
      details.appendChild(el("h3", "State"));
      details.appendChild(el("pre", node.state));
      const out = model.edges.filter((e) => e.source === node.id);
      if (out.length) {
        details.appendChild(el("h3", "Tactics that worked (" + out.length + ")"));
        const ul = el("ul");
        for (const edge of out) {
          const li = el("li");
          li.appendChild(el("code", edge.tactic));
          const target = edge.target === "proved" ? "closed the proof" : edge.target === edge.source ?
            "→ the same state" : "→ state " + nodeById[edge.target].key;
          li.appendChild(document.createTextNode(" (" + fmt(edge.logprob) + ") " + target));
          ul.appendChild(li);
        }
        details.appendChild(ul);
      }
      if (node.failures.length) {
        details.appendChild(el("h3", "Failed tactics (" + node.failures.length + ")"));
        const ul = el("ul");
        node.failures.forEach((failure) => ul.appendChild(failureItem(failure)));
        details.appendChild(ul);
      }
    }

    function showEdge(edge) {
      details.replaceChildren();
      details.appendChild(el("h2", "Tactic"));
      details.appendChild(el("pre", edge.tactic));
      const target = edge.target === "proved" ? "the proof closed" : "state " + nodeById[edge.target].key;
      details.appendChild(table([["score (mean log-prob)", fmt(edge.logprob)], ["outcome", edge.outcome],
        ["from", "state " + nodeById[edge.source].key], ["to", target],
        ["on the proof", edge.on_proof ? "yes" : "no"]]));
    }

    cy.on("tap", "node.state", (event) => showNode(nodeById[event.target.id()]));
    cy.on("tap", "edge.tactic", (event) => showEdge(edgeById[event.target.id()]));
    cy.on("tap", "node.failure, edge.failed", (event) => {
      const owner = nodeById[event.target.data("owner")];
      const failure = owner.failures[event.target.data("index")];
      details.replaceChildren(el("h2", "Failed tactic at state " + owner.key));
      const ul = el("ul");
      ul.appendChild(failureItem(failure));
      details.appendChild(ul);
    });

    // --- replay -----------------------------------------------------------------------------------
    const slider = document.getElementById("step");
    const stepLabel = document.getElementById("step-label");
    const total = model.steps.length;
    slider.max = String(total);
    let current = total;
    let timer = null;

    function describe(step) {
      if (step.kind === "expand") return "expand state " + nodeById[step.node].key;
      if (step.kind === "edge") {
        const edge = edgeById[step.edge];
        return "“" + shorten(edge.tactic, 40) + "” → " + (edge.target === "proved" ? "proof closed" :
          "state " + nodeById[edge.target].key);
      }
      const failure = nodeById[step.node].failures[step.index];
      return "“" + shorten(failure.tactic, 40) + "” " + failure.outcome;
    }

    // An element's replay state changes at one step: it appears (loses .future) at its "step", a state is
    // expanded (loses .pending) at its "expandStep". Bucketed by that step once, a move from step a to
    // step b touches only the elements whose step lies between a and b, and keeps the counts as it goes.
    const appearAt = [];  // step 1..total -> the elements that appear at it
    const expandAt = [];  // step 1..total -> the states expanded at it
    // the step of a change: 0 (none) for a step ≤ 0, beyond total for one that never comes (Infinity)
    const bucket = (step) => (typeof step === "number" && step > 0 ? Math.ceil(step) : 0);
    // what the counts count (a tactic edge into a state has the class "state" too)
    const isState = (ele) => ele.isNode() && ele.hasClass("state");
    const isTactic = (ele) => ele.isEdge() && ele.hasClass("tactic");
    let visibleNodes = 0;
    let visibleEdges = 0;
    let marked = null;  // the element of the current step
    cy.batch(() => {  // the page starts as at the last step (current = total)
      cy.elements().forEach((ele) => {
        const appears = bucket(ele.data("step"));
        if (appears > total) ele.addClass("future");  // never, within the replay
        else {
          if (appears > 0) (appearAt[appears] ||= []).push(ele);
          if (isState(ele)) visibleNodes += 1;
          if (isTactic(ele)) visibleEdges += 1;
        }
        if (isState(ele) && !ele.hasClass("proved")) {
          const expands = bucket(ele.data("expandStep"));
          if (expands > total) ele.addClass("pending");  // never expanded
          else if (expands > 0) (expandAt[expands] ||= []).push(ele);
        }
      });
    });

    function reveal(step, forward) {
      for (const ele of appearAt[step] || []) {
        ele.toggleClass("future", !forward);
        if (isState(ele)) visibleNodes += forward ? 1 : -1;
        if (isTactic(ele)) visibleEdges += forward ? 1 : -1;
      }
      for (const ele of expandAt[step] || []) ele.toggleClass("pending", !forward);
    }

    function show(stepNumber) {
      const target = Math.max(0, Math.min(total, Math.floor(stepNumber) || 0));
      slider.value = String(target);
      cy.batch(() => {
        for (; current < target; current += 1) reveal(current + 1, true);
        for (; current > target; current -= 1) reveal(current, false);
        if (marked !== null) marked.removeClass("current");
        marked = null;
        if (current > 0) {
          const step = model.steps[current - 1];
          const id = step.kind === "edge" ? step.edge : step.kind === "expand" ? step.node :
            "f-" + step.node + "-" + step.index;
          marked = cy.getElementById(id).addClass("current");
        }
      });
      body.dataset.step = String(current);
      body.dataset.visibleNodes = String(visibleNodes);
      body.dataset.visibleEdges = String(visibleEdges);
      stepLabel.textContent = "step " + current + " / " + total +
        (current > 0 ? ": " + describe(model.steps[current - 1]) : ": the root state");
    }

    function stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      document.getElementById("play").textContent = "▶ replay";
    }

    document.getElementById("play").addEventListener("click", () => {
      if (timer !== null) { stop(); return; }
      if (current >= total) show(0);
      document.getElementById("play").textContent = "❚❚ pause";
      const delay = Math.max(15, Math.min(400, 20000 / Math.max(total, 1)));
      timer = setInterval(() => { if (current >= total) stop(); else show(current + 1); }, delay);
    });
    document.getElementById("first").addEventListener("click", () => { stop(); show(0); });
    document.getElementById("last").addEventListener("click", () => { stop(); show(total); });
    document.getElementById("back").addEventListener("click", () => { stop(); show(current - 1); });
    document.getElementById("forward").addEventListener("click", () => { stop(); show(current + 1); });
    slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });

    // --- options ----------------------------------------------------------------------------------
    document.getElementById("show-failures").addEventListener("change", (event) => {
      failureElements.toggleClass("hidden", !event.target.checked);
    });
    const labelsBox = document.getElementById("show-labels");
    labelsBox.checked = model.edges.length <= 150;
    const applyLabels = () => cy.edges().toggleClass("with-label", labelsBox.checked);
    labelsBox.addEventListener("change", applyLabels);
    applyLabels();
    document.getElementById("fit").addEventListener("click", () => cy.fit(cy.elements(":visible"), 24));

    // a link may open the replay at a step: page.html#step=12
    const wanted = /(?:^#|&)step=(\d+)/.exec(window.location.hash);
    show(wanted ? Number(wanted[1]) : total);
    const proofNode = model.nodes.find((n) => n.id === "proved");
    showNode(proofNode ? nodeById[model.edges.find((e) => e.target === "proved").source] : nodeById.n0);

    // what tests and scripts read: the drawn graph's size, once drawn
    const stateCount = cy.nodes(".state").length;
    const edgeCount = cy.edges(".tactic").length;
    window.explorer = {cy: cy, model: model, show: show,
                       counts: {nodes: stateCount, edges: edgeCount, failures: cy.nodes(".failure").length}};
    body.dataset.nodes = String(stateCount);
    body.dataset.edges = String(edgeCount);
    body.dataset.failures = String(cy.nodes(".failure").length);
    body.dataset.steps = String(total);
    body.dataset.ready = "true";
  }
})();
