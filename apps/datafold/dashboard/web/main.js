// Wires the views to the node's live feed and the tabs.
import { followSnapshots, get } from './api.js';
import { Charts } from './charts.js';
import { renderNode } from './node_view.js';
import { PeerGraph } from './peer_graph.js';
import { renderPeerTable } from './peer_table.js';
import { QueryConsole } from './query_console.js';
import { loadSchemas } from './schemas_view.js';
import { TrustEditor } from './trust_editor.js';

const charts = new Charts();
const graph = new PeerGraph(document.getElementById('peer-graph'));
const queryConsole = new QueryConsole();
let latest = null;

// A trust change shows at once, not at the next snapshot.
const trust = new TrustEditor(async () => {
  try {
    trust.render(await get('/api/v1/trust'), latest ? latest.peers : []);
  } catch (error) {
    trust.say(`cannot read the trust store back: ${error.message}`, true);
  }
});

function showView() {
  const view = (location.hash || '#overview').slice(1);
  for (const section of document.querySelectorAll('.view'))
    section.hidden = section.id !== `view-${view}`;
  for (const tab of document.querySelectorAll('#tabs a'))
    tab.classList.toggle('active', tab.dataset.view === view);
  if (view === 'peers') graph.shown();
  if (view === 'overview') charts.resize();
  if (view === 'schemas') loadSchemas();
}
window.addEventListener('hashchange', showView);
showView();

const feedState = document.getElementById('feed-state');
followSnapshots((snapshot) => {
  latest = snapshot;
  document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots ?? 0) + 1);
  renderNode(snapshot.node, snapshot.peers);
  graph.update(snapshot.node, snapshot.peers);
  renderPeerTable(snapshot.peers);
  trust.render(snapshot.trust, snapshot.peers);
  queryConsole.updateNodes(snapshot.peers);
  charts.add(snapshot);
}, (state) => {
  feedState.dataset.state = state;
  feedState.textContent = { live: 'live', reconnecting: 'reconnecting…', refused: 'live feed refused; retrying' }[state];
});
