// The network page: the cooperation network (network.json) drawn by Cytoscape.js with its
// force-directed "cose" layout, filtered by domain, year and cooperation type. Labels come
// from the data: Cytoscape draws them on a canvas, and the page sets text with textContent.
import cytoscape from "../vendor/cytoscape.js";

const holder = document.getElementById("network");
const detail = document.getElementById("network-detail");
const count = document.getElementById("network-count");
const filters = {
  domain: document.getElementById("filter-domain"),
  year: document.getElementById("filter-year"),
  type: document.getElementById("filter-type"),
};
const COLOURS = { france: "#1f4e9c", state: "#d1495b", organisation: "#66a182" };

function options(select, values) {
  for (const value of [...values].sort((a, b) => String(a).localeCompare(String(b)))) {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = String(value);
    select.append(option);
  }
}

function elements(data) {
  const nodes = data.nodes.map((node) => ({ group: "nodes", data: {
    id: node.id, label: node.label, group: node.group, href: node.href } }));
  const edges = data.edges.map((edge, index) => ({ group: "edges", data: {
    id: `e${index}`, source: edge.source, target: edge.target, label: edge.label,
    domain: edge.domain, type: edge.cooperation_type, year: edge.year ?? null,
    text: edge.text.join(" "), link: edge.link } }));
  return [...nodes, ...edges];
}

function matches(edge) {
  const { domain, year, type } = Object.fromEntries(
    Object.entries(filters).map(([key, select]) => [key, select.value]));
  return (!domain || edge.data("domain").includes(domain))
    && (!year || String(edge.data("year")) === year)
    && (!type || edge.data("type").includes(type));
}

function applyFilters(cy) {
  const filtered = Object.values(filters).some((select) => select.value);
  cy.batch(() => {
    for (const edge of cy.edges()) edge.style("display", matches(edge) ? "element" : "none");
    for (const node of cy.nodes()) {
      const shown = !filtered || node.connectedEdges().some((edge) => matches(edge));
      node.style("display", shown ? "element" : "none");
    }
  });
  const nodes = cy.nodes().filter((node) => node.style("display") !== "none").length;
  const edges = cy.edges().filter((edge) => edge.style("display") !== "none").length;
  holder.dataset.nodes = String(nodes);
  holder.dataset.edges = String(edges);
  count.textContent = `${nodes} agents, ${edges} links shown`;
}

function show(edge) {
  const year = edge.data("year") ? ` (${edge.data("year")})` : "";
  const title = document.createElement("strong");
  title.textContent = `${edge.data("label")}${year}`;
  const domains = ` — ${edge.data("domain").join(", ")}; ${edge.data("type").join(", ")}. `;
  const quote = document.createElement("q");
  quote.textContent = edge.data("text");
  detail.replaceChildren(title, document.createTextNode(domains), quote);
}

async function draw() {
  const data = await fetch(holder.dataset.network, { headers: { Accept: "application/json" } })
    .then((response) => response.json());
  options(filters.domain, new Set(data.edges.flatMap((edge) => edge.domain)));
  options(filters.year, new Set(data.edges.filter((e) => e.year).map((e) => e.year)));
  options(filters.type, new Set(data.edges.flatMap((edge) => edge.cooperation_type)));
  const cy = cytoscape({
    container: holder,
    elements: elements(data),
    layout: { name: "cose", animate: false, nodeRepulsion: () => 9000, idealEdgeLength: () => 70 },
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: {
        "background-color": (node) => COLOURS[node.data("group")] ?? "#888",
        label: "data(label)", "font-size": 9, "text-wrap": "ellipsis", "text-max-width": 120,
        "text-valign": "bottom", "text-margin-y": 2, color: "#222",
        width: (node) => 10 + 3 * Math.sqrt(node.degree()),
        height: (node) => 10 + 3 * Math.sqrt(node.degree()) } },
      { selector: "edge", style: {
        width: 1.2, "line-color": "#9aa5b1", "curve-style": "bezier",
        "target-arrow-shape": "triangle", "target-arrow-color": "#9aa5b1", "arrow-scale": 0.6 } },
      { selector: "edge:selected", style: { "line-color": "#e07a00", "target-arrow-color": "#e07a00", width: 3 } },
    ],
  });
  cy.on("tap", "node", (event) => {
    const target = event.target.data("href");
    if (target) window.location.assign(target);
  });
  cy.on("tap", "edge", (event) => show(event.target));
  for (const select of Object.values(filters)) {
    select.addEventListener("change", () => applyFilters(cy));
  }
  applyFilters(cy);
  holder.cy = cy; // for the browser tests, which click where a node is drawn
  holder.setAttribute("aria-busy", "false");
}

draw().catch((error) => {
  holder.setAttribute("aria-busy", "false");
  holder.textContent = `The network could not be drawn: ${error.message}`;
});
