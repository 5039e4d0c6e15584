// The network page's graph drawing: Cytoscape.js (force-directed "cose" layout, canvas),
// re-exported as one ES module for static/js/network.js.
export { default } from "cytoscape";
