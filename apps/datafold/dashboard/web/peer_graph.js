// The peers as a live graph (cytoscape): this node in the middle, each known peer around
// it, an edge for each connection styled by its path; a relayed connection is drawn
// through its relay. Node colour is the trust distance, the border the reputation.
import { kUntrusted, pathOf, reputationText, shortId, trustText } from './format.js';

const style = [
  { selector: 'node', style: {
    label: 'data(label)', 'text-wrap': 'wrap', 'font-size': 11, 'text-valign': 'center', 'text-halign': 'right',
    'text-margin-x': 8, 'text-justification': 'left', 'text-background-color': '#fff', 'text-background-opacity': 0.85,
    'background-color': 'data(colour)', 'border-width': 3, 'border-color': 'data(border)', width: 28, height: 28,
    color: '#222', 'font-family': 'monospace' } },
  { selector: 'node.self', style: { shape: 'round-rectangle', width: 40, height: 40, 'background-color': '#1f4e79' } },
  { selector: 'node.absent', style: { opacity: 0.45 } },
  { selector: 'edge', style: { width: 3, 'curve-style': 'bezier', 'line-color': '#2e7d32', label: 'data(label)',
    'font-size': 9, color: '#555', 'text-margin-y': -8, 'text-rotation': 'autorotate' } },
  { selector: 'edge.mapped', style: { 'line-color': '#1565c0' } },
  { selector: 'edge.hole-punched', style: { 'line-color': '#ef6c00' } },
  { selector: 'edge.relayed', style: { 'line-color': '#8e24aa', 'line-style': 'dashed' } },
];

// Trusted near (green) to far (amber); unknown grey.
function trustColour(distance) {
  if (typeof distance !== 'number' || distance >= kUntrusted) return '#b0b0b0';
  return ['#2e7d32', '#66bb6a', '#c0ca33', '#fbc02d'][Math.min(distance, 3)];
}

function reputationColour(reputation) {
  if (!reputation) return '#888';
  if (reputation.state === 'banned') return '#c62828';
  if (reputation.state === 'avoided' || reputation.state === 'would-be-banned') return '#ef6c00';
  if (reputation.state === 'good') return '#2e7d32';
  return '#455a64';
}

export class PeerGraph {
  constructor(container) {
    this.cy = cytoscape({ container, style, elements: [], minZoom: 0.3, maxZoom: 3 });
    this.layoutKey = '';
  }

  update(self, peers) {
    const elements = [{ group: 'nodes', classes: 'self',
      data: { id: self.node_id, label: `${shortId(self.node_id)}\nthis node`, colour: '#1f4e79', border: '#1f4e79' } }];
    for (const peer of peers) {
      const path = pathOf(peer);
      elements.push({ group: 'nodes', classes: path ? 'peer' : 'peer absent', data: {
        id: peer.node_id,
        label: `${shortId(peer.node_id)}\ntrust ${trustText(peer.trust_distance)} · ${reputationText(peer.reputation)}`,
        colour: trustColour(peer.trust_distance), border: reputationColour(peer.reputation) } });
    }
    const known = new Set(elements.map((e) => e.data.id));
    for (const peer of peers) {
      const path = pathOf(peer);
      if (!path) continue;
      const from = path === 'relayed' && peer.relay && known.has(peer.relay) ? peer.relay : self.node_id;
      elements.push({ group: 'edges', classes: path,
        data: { id: `${from}>${peer.node_id}`, source: from, target: peer.node_id, label: path } });
    }
    const cy = this.cy;
    cy.batch(() => {
      const wanted = new Set(elements.map((e) => e.data.id));
      cy.elements().filter((e) => !wanted.has(e.id())).remove();
      for (const element of elements) {
        const existing = cy.getElementById(element.data.id);
        if (existing.nonempty()) {
          existing.data(element.data);
          existing.classes(element.classes);
        } else {
          cy.add(element);
        }
      }
    });
    // Lay out again only when the set of nodes changes, so the picture holds still.
    const key = [...cy.nodes().map((n) => n.id())].sort().join(',');
    // What the graph draws, for a test or a script to read.
    cy.container().dataset.nodeIds = key;
    cy.container().dataset.edges = String(cy.edges().length);
    if (key !== this.layoutKey) {
      this.layoutKey = key;
      this.relayout();
    }
  }

  relayout() {
    const selfId = this.cy.nodes('.self').id();
    this.cy.layout({ name: 'concentric', animate: false, padding: 60, minNodeSpacing: 90, startAngle: Math.PI / 6,
      concentric: (node) => (node.id() === selfId ? 2 : 1), levelWidth: () => 1 }).run();
  }

  // After the view was hidden (no size) and is shown again.
  shown() {
    this.cy.resize();
    this.relayout();
  }
}
