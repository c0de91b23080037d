// "This node": its id, key, addresses, reachability and uptime, from each snapshot.
import { durationText, el } from './format.js';

export function renderNode(node, peers) {
  document.getElementById('header-node-id').textContent = node.node_id.slice(0, 12);
  const connected = peers.filter((p) => p.path).length;
  const reach = node.reachability ?? {};
  const facts = [
    ['Node id', node.node_id, 'mono'],
    ['Public key', node.public_key, 'mono'],
    ['Listening on port', node.listen_port],
    ['Addresses it announces', node.addresses.length
      ? node.addresses.map((a) => `${a.address} (${a.source})`).join(', ') : 'none yet'],
    ['Reachability', reach.status ?? 'unknown'],
    ['Reachable at', (reach.reachable_addresses ?? []).join(', ') || '-'],
    ['Relayed addresses', (reach.relayed_addresses ?? []).join(', ') || '-'],
    ['Port mapping', node.port_mapping?.active
      ? `${node.port_mapping.protocol} ${node.port_mapping.external_address}`
      : (node.port_mapping?.enabled ? 'not mapped' : 'off')],
    ['Uptime', durationText(node.uptime_s)],
    ['Peers', `${connected} connected of ${peers.length} known`],
  ];
  const list = document.getElementById('node-facts');
  list.replaceChildren(...facts.flatMap(([name, value, cls]) => [el('dt', name), el('dd', value, cls)]));
}
