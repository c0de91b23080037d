// The trust store, editable: set a key's distance (and its name and note), remove a key.
// The node checks each change as `datafold trust set|remove` does (POST /api/v1/trust/…)
// and its refusal is shown as it words it.
import { post } from './api.js';
import { el, row, shortId } from './format.js';

export class TrustEditor {
  constructor(onChanged) {
    this.onChanged = onChanged;
    this.entries = [];
    this.form = document.getElementById('trust-form');
    this.message = document.getElementById('trust-message');
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.set();
    });
    // Choosing a key already in the store fills in what it has, so naming one keeps its distance.
    this.form.elements.node.addEventListener('change', () => {
      const text = this.form.elements.node.value.trim();
      const entry = this.entries.find((e) => e.node_id === text || e.public_key === text);
      if (!entry) return;
      this.form.elements.distance.value = entry.distance;
      this.form.elements.name.value = entry.name ?? '';
      this.form.elements.note.value = entry.note ?? '';
    });
  }

  say(text, failed) {
    this.message.textContent = text;
    this.message.dataset.outcome = failed ? 'error' : 'ok';
  }

  async set() {
    const f = this.form.elements;
    const distance = Number(f.distance.value);
    const body = { node: f.node.value.trim(), distance };
    // An empty box leaves the entry's name or note as it is; "" would clear it.
    if (f.name.value.trim() !== '') body.name = f.name.value.trim();
    if (f.note.value.trim() !== '') body.note = f.note.value.trim();
    try {
      const entry = await post('/api/v1/trust/set', body);
      this.say(`trusting node ${shortId(entry.node_id)} at distance ${entry.distance}` +
        (entry.name ? `, named ${entry.name}` : ''), false);
      this.onChanged();
    } catch (error) {
      this.say(`not changed: ${error.message}`, true);
    }
  }

  async remove(entry) {
    try {
      await post('/api/v1/trust/remove', { node: entry.public_key });
      this.say(`removed node ${shortId(entry.node_id)}: it is unknown again`, false);
      this.onChanged();
    } catch (error) {
      this.say(`not removed: ${error.message}`, true);
    }
  }

  render(entries, peers) {
    this.entries = entries;
    const body = document.querySelector('#trust-table tbody');
    body.replaceChildren(...entries.map((entry) => {
      const button = el('button', 'Remove');
      button.type = 'button';
      button.addEventListener('click', () => this.remove(entry));
      const tr = row([shortId(entry.node_id), el('span', entry.public_key, 'mono'), String(entry.distance),
        entry.name ?? '', entry.note ?? '', button]);
      tr.dataset.nodeId = entry.node_id;
      return tr;
    }));
    // Suggestions for the node box: every node met, by full id.
    const options = peers.map((peer) => {
      const option = document.createElement('option');
      option.value = peer.node_id;
      return option;
    });
    document.getElementById('known-node-ids').replaceChildren(...options);
  }
}
