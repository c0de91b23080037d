// The node's HTTP API as the page uses it. Writes carry this start's token (the node
// refuses a browser's write without it); every answer is {"data": …} or {"error": …}.
const token = document.querySelector('meta[name="datafold-token"]').content;

async function answer(response) {
  const body = await response.json().catch(() => null);
  if (!response.ok || body === null || 'error' in body) {
    const why = body && body.error ? body.error : `HTTP ${response.status}`;
    throw new Error(why);
  }
  return body.data;
}

export async function get(path) {
  return answer(await fetch(path, { headers: { Accept: 'application/json' } }));
}

export async function post(path, body) {
  return answer(await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-DataFold-Token': token },
    body: JSON.stringify(body),
  }));
}

// Calls onSnapshot with each snapshot the node sends (GET /api/v1/events), and onState
// with 'live', 'reconnecting' or 'refused'. The browser reconnects a dropped stream by
// itself; a refused one (the node's feeds are all taken, or it stopped) is retried here.
export function followSnapshots(onSnapshot, onState) {
  let source;
  const open = () => {
    source = new EventSource('/api/v1/events');
    source.addEventListener('snapshot', (event) => {
      onState('live');
      onSnapshot(JSON.parse(event.data));
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        onState('refused');
        setTimeout(open, 5000);
      } else {
        onState('reconnecting');
      }
    });
  };
  open();
  // Closing the tab closes the stream; the node sees its next write fail.
  window.addEventListener('pagehide', () => source.close());
}
