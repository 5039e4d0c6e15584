// Builds the third-party browser code and data of the kg web pages into
// ../src/kg/web/static/vendor/ (committed: `pip install .` needs no npm).
//
//   npm ci && npm run build
//
// * codemirror.js — CodeMirror 6 with the SPARQL mode, bundled by esbuild (src/codemirror.js);
// * cytoscape.js — Cytoscape.js for the network page, bundled by esbuild (src/cytoscape.js);
// * countries.json — Natural Earth 1:50m country shapes (world-atlas, public domain) projected
//   once here onto the Indo-Pacific (Natural Earth I projection), as SVG path data keyed by
//   ISO 3166-1 alpha-2 code, with the projection's parameters so that the server places
//   points with the same formula (kg.geo);
// * LICENSES.txt — the licenses of everything bundled.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import * as esbuild from "esbuild";
import { feature } from "topojson-client";
import { geoNaturalEarth1, geoPath } from "d3-geo";

const require = createRequire(import.meta.url);
const countries = require("i18n-iso-countries");
const OUT = new URL("../src/kg/web/static/vendor/", import.meta.url);
mkdirSync(OUT, { recursive: true });

await esbuild.build({
  entryPoints: ["src/codemirror.js"],
  bundle: true, format: "esm", minify: true, target: "es2020",
  legalComments: "none", outfile: new URL("codemirror.js", OUT).pathname,
});
await esbuild.build({
  entryPoints: ["src/cytoscape.js"],
  bundle: true, format: "esm", minify: true, target: "es2020",
  legalComments: "none", outfile: new URL("cytoscape.js", OUT).pathname,
});

// The frame of the fact sheet's own map: East Africa to French Polynesia, Mongolia to the
// French Southern Lands; centred on 122.5°E so that the Pacific is not cut at 180°.
const WEST = 20, EAST = 225, NORTH = 58, SOUTH = -55, WIDTH = 1000;
const CENTRE = (WEST + EAST) / 2;
const projection = geoNaturalEarth1().rotate([-CENTRE, 0]).translate([0, 0]).scale(1);
const [x0] = projection([WEST, 0]), [x1] = projection([EAST, 0]);
const [, y0] = projection([CENTRE, NORTH]), [, y1] = projection([CENTRE, SOUTH]);
const scale = WIDTH / (x1 - x0);
const height = Math.round((y1 - y0) * scale);
projection.scale(scale).translate([-x0 * scale, -y0 * scale])
  .clipExtent([[0, 0], [WIDTH, height]]);
const path = geoPath(projection).digits(1);

const atlas = JSON.parse(readFileSync(require.resolve("world-atlas/countries-50m.json")));
const shapes = {};
for (const country of feature(atlas, atlas.objects.countries).features) {
  const alpha2 = country.id && countries.numericToAlpha2(country.id);
  const d = path(country);
  if (!alpha2 || !d) continue; // no ISO code (e.g. N. Cyprus) or outside the frame
  // several features can share a code (Australia and the Ashmore and Cartier Islands):
  // one shape of all their parts, named after the largest
  const known = shapes[alpha2];
  if (known) {
    const name = known.d.length >= d.length ? known.name : country.properties.name;
    shapes[alpha2] = { name, d: known.d + d };
  } else {
    shapes[alpha2] = { name: country.properties.name, d };
  }
}
// a few points projected by d3 itself, for the server's own projection to be checked against
const checks = [[47.5, -18.9], [106.9, 47.9], [-149.6, -17.5], [55.5, -21.1]]
  .map(([lon, lat]) => ({ lon, lat, xy: projection([lon, lat]).map((v) => +v.toFixed(3)) }));
writeFileSync(new URL("countries.json", OUT), JSON.stringify({
  source: "Natural Earth 1:50m admin-0 countries (public domain), via the npm package world-atlas",
  width: WIDTH, height,
  projection: { name: "naturalEarth1", rotate: -CENTRE, scale, translate: [-x0 * scale, -y0 * scale] },
  checks, countries: shapes,
}));

const bundled = ["codemirror", "@codemirror/autocomplete", "@codemirror/commands",
  "@codemirror/language", "@codemirror/legacy-modes", "@codemirror/lint", "@codemirror/search",
  "@codemirror/state", "@codemirror/view", "@lezer/common", "@lezer/highlight", "crelt",
  "style-mod", "w3c-keyname", "world-atlas", "cytoscape"];
const notes = bundled.map((name) => {
  const dir = new URL(`node_modules/${name}/`, import.meta.url).pathname;
  const meta = JSON.parse(readFileSync(dir + "package.json"));
  let text = "";
  for (const file of ["LICENSE", "LICENSE.md", "LICENSE.txt"]) {
    try { text = readFileSync(dir + file, "utf8"); break; } catch { /* next */ }
  }
  return `${name} ${meta.version} (${meta.license})\n\n${text.trim()}\n`;
});
writeFileSync(new URL("LICENSES.txt", OUT),
  "Third-party code and data in this folder, built by web-assets/build.mjs.\n" +
  "Natural Earth data is in the public domain (https://www.naturalearthdata.com/about/terms-of-use/).\n\n" +
  notes.join("\n" + "-".repeat(72) + "\n\n"));
console.log(`built codemirror.js, cytoscape.js and countries.json (${Object.keys(shapes).length} countries, ${WIDTH}x${height})`);
