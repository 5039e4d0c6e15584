// The query page: CodeMirror editor, example questions, results table, downloads.
// Everything from the server or the data is put in the page with textContent or
// setAttribute, never as HTML.
import { createEditor } from "../vendor/codemirror.js";

const form = document.getElementById("query-form");
const textarea = document.getElementById("query-text");
const examples = document.getElementById("examples");
const question = document.getElementById("question");
const statusLine = document.getElementById("status");
const downloads = document.getElementById("downloads");
const errorBox = document.getElementById("error");
const results = document.getElementById("results");
const root = document.body.dataset.root;
const baseIri = document.body.dataset.baseIri;
const prefixes = JSON.parse(form.dataset.prefixes);
const endpoint = form.getAttribute("action");
// the dataset of a shared link (default-graph-uri, named-graph-uri, inference): sent with
// every query and download, so that the page answers what /sparql answers to that link
const dataset = [...form.querySelectorAll("input[data-dataset]")].map((input) => [input.name, input.value]);
const MAX_ROWS_SHOWN = 2000;
const XSD = "http://www.w3.org/2001/XMLSchema#";

const holder = document.getElementById("editor");
holder.hidden = false;
textarea.hidden = true;
textarea.labels.forEach((label) => { label.hidden = true; });
document.getElementById("noscript-format").disabled = true;
const editor = createEditor(holder, {
  doc: textarea.value,
  // the editor's <style> element needs the page's CSP nonce, read from this script's tag
  nonce: document.querySelector("script[nonce]")?.nonce,
  onRun: run,
  words: JSON.parse(form.dataset.words),
});

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

/** An IRI as a prefixed name when a predeclared prefix fits, else <iri>. */
export function compact(iri) {
  let best = null;
  for (const [prefix, ns] of Object.entries(prefixes)) {
    if (iri.startsWith(ns) && (!best || ns.length > prefixes[best].length)) {
      const local = iri.slice(ns.length);
      if (local && /^[\w.-]+$/.test(local) && !local.endsWith(".")) best = prefix;
    }
  }
  return best ? `${best}:${iri.slice(prefixes[best].length)}` : `<${iri}>`;
}

/** Where a link to an IRI goes: this server for the project's IRIs; http(s) IRIs as they are. */
function href(iri) {
  if (iri.startsWith(baseIri) && !iri.startsWith(baseIri + "graph/")) return root + iri.slice(baseIri.length);
  return /^https?:\/\//i.test(iri) ? iri : null;
}

function termCell(term) {
  const cell = el("td");
  if (!term) return cell;
  if (term.type === "uri") {
    const target = href(term.value);
    cell.append(target ? el("a", compact(term.value), { href: target, title: term.value })
      : el("span", compact(term.value), { title: term.value }));
  } else if (term.type === "bnode") {
    cell.append(el("span", `_:${term.value}`, { class: "bnode" }));
  } else {
    const lang = term["xml:lang"];
    cell.append(el("span", term.value, lang ? { class: "literal", lang } : { class: "literal" }));
    if (lang) cell.append(" ", el("span", `@${lang}`, { class: "tag" }));
    else if (term.datatype && term.datatype !== `${XSD}string`) cell.append(" ", el("span", compact(term.datatype), { class: "tag" }));
  }
  return cell;
}

function showError(message, line, column) {
  errorBox.hidden = false;
  errorBox.textContent = line ? `${message}\n(line ${line}, column ${column})` : message;
  if (line) editor.markError(line, column || 1);
}

/** The parameters of a request to the endpoint: `fields` and the page's dataset. */
function parameters(fields) {
  const params = new URLSearchParams(fields);
  for (const [name, value] of dataset) params.append(name, value);
  return params;
}

function showDownloads(query, kind) {
  downloads.replaceChildren();
  const formats = kind === "graph"
    ? [["Turtle", "turtle", "ttl"], ["N-Triples", "ntriples", "nt"], ["JSON-LD", "jsonld", "jsonld"]]
    : [["JSON", "json", "srj"], ["CSV", "csv", "csv"], ["TSV", "tsv", "tsv"], ["XML", "xml", "srx"]];
  downloads.append("Download: ");
  for (const [name, format, ext] of formats) {
    const url = `${endpoint}?${parameters({ query, format })}`;
    downloads.append(el("a", name, { href: url, download: `results.${ext}` }));
  }
}

function renderSolutions(data) {
  if ("boolean" in data) {
    results.replaceChildren(el("p", data.boolean ? "true" : "false", { class: "boolean" }));
    return "ASK: " + data.boolean;
  }
  const vars = data.head.vars || [];
  const rows = data.results.bindings;
  const table = el("table", null, { class: "results-table" });
  const head = el("tr");
  for (const name of vars) head.append(el("th", `?${name}`, { scope: "col" }));
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  const body = table.tBodies[0];
  for (const row of rows.slice(0, MAX_ROWS_SHOWN)) {
    const tr = el("tr");
    for (const name of vars) tr.append(termCell(row[name]));
    body.append(tr);
  }
  const wrap = el("div", null, { class: "table-wrap" });
  wrap.append(table);
  results.replaceChildren(wrap);
  const shown = rows.length > MAX_ROWS_SHOWN ? ` (first ${MAX_ROWS_SHOWN} shown)` : "";
  return `${rows.length} row${rows.length === 1 ? "" : "s"}${shown}`;
}

function renderGraph(text) {
  const triples = text.split("\n").filter((line) => /\.\s*$/.test(line)).length;
  results.replaceChildren(el("pre", text, { class: "turtle" }));
  return `${triples} statement${triples === 1 ? "" : "s"} (Turtle)`;
}

async function run() {
  const query = editor.getValue();
  errorBox.hidden = true;
  editor.clearError();
  statusLine.textContent = "Running…";
  const started = performance.now();
  let response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      body: parameters({ query }),
      headers: { Accept: "application/sparql-results+json, text/turtle;q=0.9" },
    });
  } catch (error) {
    statusLine.textContent = "";
    showError(`The server could not be reached: ${error.message}`);
    return;
  }
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    let problem = { message: `${response.status} ${response.statusText}` };
    if (type.includes("json")) problem = await response.json();
    else problem.message = (await response.text()).trim() || problem.message;
    statusLine.textContent = "";
    results.replaceChildren();
    downloads.replaceChildren();
    showError(problem.message, problem.line, problem.column);
    return;
  }
  const summary = type.includes("json") ? renderSolutions(await response.json())
    : renderGraph(await response.text());
  const ms = Math.round(performance.now() - started);
  statusLine.textContent = `${summary} in ${ms} ms`;
  showDownloads(query, type.includes("json") ? "solutions" : "graph");
  const url = new URL(window.location.href);
  url.searchParams.set("query", query);
  window.history.replaceState(null, "", url);
}

examples.addEventListener("change", () => {
  const option = examples.selectedOptions[0];
  if (!option || !option.value) return;
  editor.setValue(option.dataset.query);
  question.textContent = option.dataset.question;
  editor.focus();
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  run();
});

if (form.dataset.run === "yes") run();
