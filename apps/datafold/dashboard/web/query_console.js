// The query console: runs a query against this node or any node it knows
// (POST /api/v1/query) and shows each field's value, or the reason it could not be read,
// in that field's own slot.
import { get, post } from './api.js';
import { el, shortId } from './format.js';

export class QueryConsole {
  constructor() {
    this.form = document.getElementById('query-form');
    this.nodeSelect = document.getElementById('query-node');
    this.schemaSelect = document.getElementById('query-schema');
    this.fieldSet = document.getElementById('query-fields');
    this.message = document.getElementById('query-message');
    this.results = document.getElementById('query-results');
    this.schemas = [];
    this.nodeSelect.addEventListener('change', () => this.loadSchemas());
    this.schemaSelect.addEventListener('change', () => this.showFields());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.run();
    });
  }

  say(text, failed) {
    this.message.textContent = text;
    this.message.dataset.outcome = failed ? 'error' : 'ok';
  }

  // The nodes to ask: this node, then every peer it knows (connected ones first).
  updateNodes(peers) {
    const wanted = [['', 'this node'], ...[...peers]
      .sort((a, b) => Number(!a.path) - Number(!b.path))
      .map((p) => [p.node_id, `${shortId(p.node_id)}${p.path ? '' : ' (not connected)'}`])];
    const current = [...this.nodeSelect.options].map((o) => `${o.value}|${o.textContent}`).join(',');
    if (current === wanted.map(([v, t]) => `${v}|${t}`).join(',')) return;
    const chosen = this.nodeSelect.value;
    this.nodeSelect.replaceChildren(...wanted.map(([value, text]) => {
      const option = el('option', text);
      option.value = value;
      return option;
    }));
    if (wanted.some(([value]) => value === chosen)) this.nodeSelect.value = chosen;
    if (this.schemas.length === 0 || this.nodeSelect.value !== chosen) this.loadSchemas();
  }

  async loadSchemas() {
    const node = this.nodeSelect.value;
    try {
      this.schemas = await get(node ? `/api/v1/schemas?node=${encodeURIComponent(node)}` : '/api/v1/schemas');
      this.say(this.schemas.length ? '' : 'that node lists no schema this node may read', false);
    } catch (error) {
      this.schemas = [];
      this.say(`cannot list that node's schemas: ${error.message}`, true);
    }
    const chosen = this.schemaSelect.value;
    this.schemaSelect.replaceChildren(...this.schemas.map((s) => {
      const option = el('option', s.name);
      option.value = s.name;
      return option;
    }));
    if (this.schemas.some((s) => s.name === chosen)) this.schemaSelect.value = chosen;
    this.showFields();
  }

  // Every field of the schema; those this node may not read are offered too, unticked,
  // so the console can show the node's refusal in their slot.
  showFields() {
    const schema = this.schemas.find((s) => s.name === this.schemaSelect.value);
    const boxes = (schema?.fields ?? []).map((field) => {
      const label = el('label', undefined, field.readable ? 'readable' : 'unreadable');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.name = 'field';
      box.value = field.name;
      box.checked = field.readable;
      label.append(box, ` ${field.name}${field.readable ? '' : ' (not readable now)'}`);
      return label;
    });
    this.fieldSet.replaceChildren(el('legend', 'Fields'), ...boxes);
  }

  async run() {
    const node = this.nodeSelect.value;
    const fields = [...this.fieldSet.querySelectorAll('input[name=field]:checked')].map((b) => b.value);
    const body = { schema: this.schemaSelect.value, fields };
    if (node) body.node = node;
    const filterText = this.form.elements.filter.value.trim();
    if (filterText) {
      try {
        body.filter = JSON.parse(filterText);
      } catch (error) {
        return this.say(`the filter is not JSON: ${error.message}`, true);
      }
    }
    if (!body.schema || fields.length === 0) return this.say('choose a schema and at least one field', true);
    this.say('asking…', false);
    try {
      const answer = await post('/api/v1/query', body);
      this.say(`answered by ${node ? shortId(node) : 'this node'} at ${new Date().toLocaleTimeString()}`, false);
      this.show(answer);
      this.refreshReadable(node);
    } catch (error) {
      this.results.replaceChildren();
      this.say(`the query failed: ${error.message}`, true);
    }
  }

  // What this node may read can change (the other node's trust store): the field list
  // says what holds now, keeping the ticks as they are.
  async refreshReadable(node) {
    try {
      this.schemas = await get(node ? `/api/v1/schemas?node=${encodeURIComponent(node)}` : '/api/v1/schemas');
    } catch {
      return;
    }
    const schema = this.schemas.find((s) => s.name === this.schemaSelect.value);
    for (const field of schema?.fields ?? []) {
      const box = this.fieldSet.querySelector(`input[value="${CSS.escape(field.name)}"]`);
      if (!box) continue;
      box.parentElement.className = field.readable ? 'readable' : 'unreadable';
      box.nextSibling.textContent = ` ${field.name}${field.readable ? '' : ' (not readable now)'}`;
    }
  }

  show(answer) {
    this.results.replaceChildren(...answer.results.map((result) => {
      const slot = el('div', undefined, 'slot');
      slot.dataset.field = result.field;
      slot.append(el('h4', result.field));
      if ('error' in result) {
        slot.classList.add('error');
        slot.append(el('p', `${result.error.kind}: ${result.error.message}`, 'why'));
      } else {
        slot.append(el('pre', JSON.stringify(result.value, null, 2), 'value'));
      }
      return slot;
    }));
  }
}
