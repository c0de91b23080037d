// The schemas this node serves, each field with who may read it, as the store enforces it.
import { get } from './api.js';
import { el, row } from './format.js';

function whoMayRead(field) {
  const parts = [];
  if (field.max_distance === null) parts.push('anyone');
  else if (field.max_distance === 0) parts.push('this node only (distance 0)');
  else parts.push(`trust distance ≤ ${field.max_distance}`);
  if (field.readers.length) parts.push(`and the keys listed: ${field.readers.join(', ')}`);
  return parts.join(' ');
}

export async function loadSchemas() {
  const list = document.getElementById('schema-list');
  const message = document.getElementById('schemas-message');
  try {
    const schemas = await get('/api/v1/schemas/read_policies');
    message.textContent = schemas.length ? '' : 'this node serves no schemas';
    list.replaceChildren(...schemas.map((schema) => {
      const box = el('div', undefined, 'schema');
      box.append(el('h3', `${schema.name} (version ${schema.version})`));
      if (schema.description) box.append(el('p', schema.description));
      const table = el('table');
      const head = el('thead');
      head.append(row(['FIELD', 'TYPE', 'WHO MAY READ']));
      const body = el('tbody');
      body.append(...schema.fields.map((f) => row([f.name, f.type ?? 'any', whoMayRead(f)])));
      table.append(head, body);
      box.append(table);
      return box;
    }));
  } catch (error) {
    message.textContent = `cannot list the schemas: ${error.message}`;
  }
}
