// The peers as `datafold peers` lists them (the same columns, the path last), and a
// Connect button for a peer not connected (POST /api/v1/network/connect: the node dials
// it now).
import { post } from './api.js';
import { agoText, el, pathOf, reputationText, row, shortId, trustText } from './format.js';

async function connect(peer, button) {
  const message = document.getElementById('peer-message');
  button.disabled = true;
  message.textContent = `connecting to ${shortId(peer.node_id)}…`;
  try {
    await post('/api/v1/network/connect', { node_id: peer.node_id });
    message.textContent = `connected to ${shortId(peer.node_id)}`;
    message.dataset.outcome = 'ok';
  } catch (error) {
    message.textContent = `cannot connect to ${shortId(peer.node_id)}: ${error.message}`;
    message.dataset.outcome = 'error';
  }
}

export function renderPeerTable(peers) {
  const body = document.querySelector('#peer-table tbody');
  const rows = [];
  for (const peer of peers) {
    const addresses = (peer.addresses ?? []).map((a) =>
      `${a.address} (${a.source}${typeof a.last_success_ms === 'number' ? `, connected ${agoText(a.last_success_ms)}` : ''})`);
    const path = pathOf(peer);
    let pathCell = path;
    if (!path) {
      pathCell = el('button', 'Connect');
      pathCell.type = 'button';
      pathCell.title = 'not connected: dial it now';
      pathCell.addEventListener('click', () => connect(peer, pathCell));
    }
    const tr = row([shortId(peer.node_id), addresses.join('\n') || peer.address || '-', peer.health,
      trustText(peer.trust_distance), agoText(peer.last_seen_ms), reputationText(peer.reputation), pathCell]);
    tr.dataset.nodeId = peer.node_id;
    tr.title = peer.node_id;
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}
