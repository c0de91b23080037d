// Live charts (uPlot) from the counters /metrics prints, as they arrive in snapshots:
// rates from the difference between two snapshots, latency percentiles estimated from
// the request-latency histogram's buckets over the last window (as Prometheus's
// histogram_quantile does: linear within a bucket).
const kPoints = 300;         // five minutes at one snapshot a second
const kLatencyWindow = 10;   // snapshots the percentiles look back over

function makeChart(containerId, series) {
  const container = document.getElementById(containerId);
  const data = [[], ...series.map(() => [])];
  const plot = new uPlot({
    width: Math.max(container.clientWidth, 300), height: 180,
    series: [{}, ...series.map(([label, stroke, dash]) => ({ label, stroke, width: 2, dash, spanGaps: false }))],
    axes: [{}, { size: 50 }],
    // At least a minute wide, so the first few points do not stretch over years.
    scales: { x: { time: true, range: (u, min, max) => [Math.min(min, max - 60), max] } },
    legend: { live: false },
  }, data, container);
  return { plot, data, container };
}

// The q-quantile of the requests counted in `deltas` (per bucket, cumulative), in seconds.
export function quantile(q, bounds, deltas, total) {
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0, lowerCount = 0;
  for (let i = 0; i < bounds.length; i++) {
    if (deltas[i] >= rank) {
      const inBucket = deltas[i] - lowerCount;
      return inBucket > 0 ? lowerBound + (bounds[i] - lowerBound) * ((rank - lowerCount) / inBucket) : bounds[i];
    }
    lowerBound = bounds[i];
    lowerCount = deltas[i];
  }
  return bounds[bounds.length - 1];  // past the last bound: at least that
}

export class Charts {
  constructor() {
    this.charts = {
      queries: makeChart('chart-queries', [['answered', '#2e7d32'], ['refused', '#c62828'], ['sent', '#1565c0']]),
      latency: makeChart('chart-latency', [['p50', '#2e7d32'], ['p90', '#f9a825'], ['p99', '#c62828']]),
      connections: makeChart('chart-connections', [['direct', '#2e7d32'], ['mapped', '#1565c0'],
        ['hole-punched', '#ef6c00'], ['relayed', '#8e24aa', [6, 4]]]),
      discovery: makeChart('chart-discovery', [['LAN sent', '#1565c0'], ['LAN received', '#2e7d32'],
        ['DHT out', '#6a1b9a', [6, 4]], ['DHT in', '#00838f', [6, 4]]]),
    };
    this.previous = null;
    this.history = [];  // the latest snapshots' latency counters, for the window
    window.addEventListener('resize', () => this.resize());
  }

  push(name, x, values) {
    const { plot, data } = this.charts[name];
    data[0].push(x);
    values.forEach((v, i) => data[i + 1].push(v));
    if (data[0].length > kPoints) data.forEach((column) => column.shift());
    plot.setData(data);
  }

  add(snapshot) {
    const c = snapshot.counters;
    const x = snapshot.time_ms / 1000;
    this.history.push(c.latency);
    if (this.history.length > kLatencyWindow + 1) this.history.shift();
    const before = this.history[0];
    const deltas = c.latency.buckets.map((n, i) => n - before.buckets[i]);
    const total = c.latency.count - before.count;
    const ms = (q) => { const s = quantile(q, c.latency.bounds_s, deltas, total); return s === null ? null : s * 1000; };
    this.push('latency', x, [ms(0.5), ms(0.9), ms(0.99)]);
    const open = c.connections;
    this.push('connections', x, [open.direct, open.mapped, open['hole-punched'], open.relayed]);

    const p = this.previous;
    this.previous = { x, c };
    if (!p) return;
    const seconds = x - p.x;
    if (seconds <= 0) return;
    const rate = (now, then) => (typeof now === 'number' && typeof then === 'number' ? Math.max(0, now - then) / seconds : null);
    this.push('queries', x, [rate(c.queries_answered, p.c.queries_answered), rate(c.queries_refused, p.c.queries_refused),
      rate(c.stats.requests_sent, p.c.stats.requests_sent)]);
    this.push('discovery', x, [rate(c.discovery?.datagrams_sent, p.c.discovery?.datagrams_sent),
      rate(c.discovery?.datagrams_received, p.c.discovery?.datagrams_received),
      rate(c.dht?.datagrams_out, p.c.dht?.datagrams_out), rate(c.dht?.datagrams_in, p.c.dht?.datagrams_in)]);
  }

  resize() {
    for (const { plot, container } of Object.values(this.charts))
      if (container.clientWidth > 0) plot.setSize({ width: container.clientWidth, height: 180 });
  }
}
