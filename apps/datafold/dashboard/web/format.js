// How values read in the page; the same words the CLI uses.
export const kUntrusted = 0xFFFFFFFF;

export function shortId(id) {
  return typeof id === 'string' ? id.slice(0, 12) : '-';
}

export function trustText(distance) {
  if (typeof distance !== 'number') return '-';
  return distance >= kUntrusted ? 'unknown' : String(distance);
}

export function agoText(ms) {
  if (typeof ms !== 'number') return '-';
  const seconds = Math.max(0, Math.floor((Date.now() - ms) / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m ago`;
  return `${Math.floor(seconds / 3600)}h ago`;
}

export function durationText(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24;
  const m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  return m > 0 ? `${m}m ${s}s` : `${s}s`;
}

export function reputationText(reputation) {
  return reputation ? `${reputation.state} ${Number(reputation.score).toFixed(1)}` : '-';
}

// How a connected peer's connection was made, as the node says: "direct", "mapped",
// "hole-punched" or "relayed"; null when not connected.
export function pathOf(peer) {
  return peer.path ?? null;
}

// An element with text: data from peers is never parsed as HTML.
export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

export function row(cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    if (cell instanceof Node) td.append(cell);
    else td.textContent = cell;
    tr.append(td);
  }
  return tr;
}
