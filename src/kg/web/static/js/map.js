// The map: Natural Earth shapes (static file) and the places of the graph (map.json).
// Labels come from the data: they are set with textContent only.
const SVG = "http://www.w3.org/2000/svg";
const holder = document.getElementById("map");

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function link(place, title) {
  const a = svg("a", { href: place.href, "aria-label": title });
  a.append(svg("title", {}, title));
  return a;
}

async function draw() {
  const [shapes, data] = await Promise.all([
    fetch(holder.dataset.shapes).then((r) => r.json()),
    fetch(holder.dataset.places, { headers: { Accept: "application/json" } }).then((r) => r.json()),
  ]);
  const labels = Object.fromEntries(data.headings.map((h) => [h.key, h.label]));
  const describe = (place) => {
    const parts = Object.entries(place.headings).map(([key, n]) => `${labels[key]} (${n})`);
    return `${place.label}: ${parts.join(", ")}`;
  };
  const map = svg("svg", { viewBox: `0 0 ${shapes.width} ${shapes.height}`, role: "group",
    "aria-label": "Map of the places of the cooperation links" });
  const land = svg("g", { class: "countries" });
  const byIso = new Map(data.places.filter((p) => p.iso).map((p) => [p.iso, p]));
  const drawn = new Set();
  map.append(land);
  holder.replaceChildren(map); // in the page, so that shapes can be measured
  for (const [iso, shape] of Object.entries(shapes.countries)) {
    const place = byIso.get(iso);
    if (!place) {
      land.append(svg("path", { d: shape.d, class: "land" }, undefined));
      continue;
    }
    const a = link(place, describe(place));
    a.setAttribute("class", `h-${place.heading}`);
    const path = svg("path", { d: shape.d, class: "country", "data-iri": place.iri });
    a.append(path);
    land.append(a);
    const box = path.getBBox();
    if (Math.max(box.width, box.height) >= 8) drawn.add(place.iri); // else a point too
  }
  // countries first, then points on top (cities, islands, and states too small to see)
  const points = svg("g", { class: "points" });
  const labelled = [];
  for (const place of data.places) {
    if (place.x === null || place.y === null || drawn.has(place.iri)) continue;
    const a = link(place, describe(place));
    a.setAttribute("class", `h-${place.heading}`);
    a.append(svg("circle", { cx: place.x, cy: place.y, r: 5, class: "place", "data-iri": place.iri }));
    // a label unless another one is already that close; to the left near the right edge
    if (!labelled.some(([x, y]) => Math.abs(x - place.x) < 60 && Math.abs(y - place.y) < 10)) {
      const left = place.x > shapes.width - 120;
      a.append(svg("text", { x: place.x + (left ? -7 : 7), y: place.y + 3, class: "place-label",
        "text-anchor": left ? "end" : "start" }, place.label));
      labelled.push([place.x, place.y]);
    }
    points.append(a);
    drawn.add(place.iri);
  }
  map.append(points);
  holder.setAttribute("aria-busy", "false");
  holder.dataset.drawn = String(drawn.size);
}

draw().catch((error) => {
  holder.setAttribute("aria-busy", "false");
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = `The map could not be drawn: ${error.message}`;
  holder.replaceChildren(p);
});
