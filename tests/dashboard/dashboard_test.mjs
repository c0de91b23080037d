// The node's dashboard in a real browser: Debian's headless Chromium driven by
// playwright-core (never a downloaded browser), against three nodes on loopback.
//   node dashboard_test.mjs DATAFOLD_BINARY NPM_DIR SCREENSHOT_DIR
// NPM_DIR holds node_modules/playwright-core (the build's `npm ci` of this directory's
// lockfile); a screenshot of each view is written to SCREENSHOT_DIR for people to look at.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { LoopbackNetwork, waitFor } from './nodes.mjs';

const [datafold, npmDir, screenshotDir] = process.argv.slice(2).map((arg) => resolve(arg));
if (!datafold || !npmDir || !screenshotDir) {
  console.error('usage: node dashboard_test.mjs DATAFOLD_BINARY NPM_DIR SCREENSHOT_DIR');
  process.exit(2);
}
const { chromium } = createRequire(join(npmDir, 'package.json'))('playwright-core');
mkdirSync(screenshotDir, { recursive: true });

// One HTTP request with exactly the headers given (a browser would not let a test set
// Host or a foreign Origin); every request has a deadline.
function raw(port, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

const network = new LoopbackNetwork(datafold);
let browser;
let userDataDir;
const consoleErrors = [];
const pages = {};

// A page of `name`'s dashboard whose console errors and uncaught exceptions are recorded.
async function openDashboard(name) {
  const page = await browser.newPage();
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(`${name}: ${message.text()}`); });
  page.on('pageerror', (error) => consoleErrors.push(`${name}: ${error.message}`));
  await page.goto(network.nodes[name].url + '/', { timeout: 15000 });
  await page.waitForSelector('#feed-state[data-state=live]', { timeout: 15000 });
  pages[name] = page;
  return page;
}

async function showView(page, view) {
  await page.evaluate((v) => { location.hash = v; }, view);
  await page.waitForSelector(`#view-${view}:not([hidden])`, { timeout: 5000 });
}

async function screenshot(page, name) {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true, timeout: 10000 });
}

describe('the dashboard in Chromium', { timeout: 170000 }, () => {
  before(async () => {
    await network.start();
    userDataDir = mkdtempSync(join(tmpdir(), 'datafold-chromium-'));
    // A persistent context is how Playwright takes a --user-data-dir: a new, empty one.
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      timeout: 30000,
      viewport: { width: 1280, height: 860 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        // A DNS-rebinding page: a foreign name that resolves to the node's address.
        '--host-resolver-rules=MAP evil.example 127.0.0.1'],
    });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    // Stopping with dashboards' live feeds open must not wait on them.
    const took = await network.stopAll();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    for (const [name, ms] of Object.entries(took))
      assert.ok(ms < 10000, `${name} took ${ms} ms to stop`);
  });

  test('the page loads with every asset from the node and no console error', async () => {
    const page = await openDashboard('alice');
    assert.equal(await page.locator('#header-node-id').textContent(), network.nodes.alice.id.slice(0, 12));
    await waitFor('the node panel', async () => (await page.locator('#node-facts').textContent()).includes(network.nodes.alice.id));
    await waitFor('the charts', async () => (await page.locator('.uplot').count()) === 4);
    assert.deepEqual(consoleErrors, []);
  });

  test('the three nodes appear in the graph and the table', async () => {
    const page = pages.alice;
    await showView(page, 'peers');
    const others = [network.nodes.bob.id, network.nodes.carol.id];
    await waitFor('bob and carol in the peer table', async () => {
      const ids = await page.locator('#peer-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.nodeId));
      return others.every((id) => ids.includes(id));
    }, 30000);
    await waitFor('all three in the graph', async () => {
      const ids = (await page.locator('#peer-graph').getAttribute('data-node-ids') ?? '').split(',');
      return [network.nodes.alice.id, ...others].every((id) => ids.includes(id));
    });
    // Connect from the page (a write with the token) to each peer not connected yet;
    // the table and the graph then show the connection's path.
    for (const id of others) {
      const button = page.locator(`#peer-table tr[data-node-id="${id}"] button`);
      if (await button.count()) await button.click({ timeout: 5000 });
      await waitFor(`a direct connection to ${id.slice(0, 12)}`, async () =>
        (await page.locator(`#peer-table tr[data-node-id="${id}"] td:last-child`).textContent()) === 'direct');
    }
    await waitFor('two edges in the graph', async () =>
      Number(await page.locator('#peer-graph').getAttribute('data-edges')) === 2);
    // The table has the CLI's columns.
    const header = await page.locator('#peer-table thead th').allTextContents();
    assert.deepEqual(header, ['NODE', 'ADDRESSES', 'HEALTH', 'TRUST', 'LAST SEEN', 'REPUTATION', 'PATH']);
    await page.waitForTimeout(300);  // the graph's canvas draws on the next frame
    await screenshot(page, 'peers');
    assert.deepEqual(consoleErrors, []);
  });

  test('the schemas view shows each field\'s read policy', async () => {
    const page = pages.alice;
    await showView(page, 'schemas');
    await page.waitForSelector('.schema h3', { timeout: 5000 });
    const text = await page.locator('#schema-list').textContent();
    assert.match(text, /UserProfile/);
    assert.match(text, /emailstringtrust distance ≤ 1/);
    assert.match(text, /phonestringthis node only/);
    assert.match(text, /usernamestringanyone/);
    await screenshot(page, 'schemas');
  });

  test('a trust change made on the page changes what a query from the console returns', async () => {
    const carol = await openDashboard('carol');
    await showView(carol, 'query');
    const alice = network.nodes.alice.id;
    await waitFor('alice in carol\'s console', async () =>
      (await carol.locator('#query-node option').evaluateAll((os) => os.map((o) => o.value))).includes(alice), 30000);
    await carol.selectOption('#query-node', alice);
    await carol.waitForSelector('#query-schema option[value=UserProfile]', { state: 'attached', timeout: 10000 });
    await carol.selectOption('#query-schema', 'UserProfile');
    for (const field of ['username', 'email', 'phone']) await carol.check(`#query-fields input[value=${field}]`);
    const run = async () => {
      await carol.click('#query-form button[type=submit]');
      await carol.waitForSelector('#query-message[data-outcome=ok]:has-text("answered")', { timeout: 10000 });
    };
    await run();
    assert.equal(await carol.locator('.slot[data-field=email]').getAttribute('class'), 'slot error');
    assert.equal(await carol.locator('.slot[data-field=username]').getAttribute('class'), 'slot');

    // Alice, on her own page, trusts carol at distance 1 and names her.
    const page = pages.alice;
    await showView(page, 'trust');
    await page.fill('#trust-form input[name=node]', network.nodes.carol.id.slice(0, 16));
    await page.fill('#trust-form input[name=distance]', '1');
    await page.fill('#trust-form input[name=name]', 'carol_key');
    await page.click('#trust-form button[type=submit]');
    await page.waitForSelector('#trust-message[data-outcome=ok]', { timeout: 5000 });
    await page.waitForSelector(`#trust-table tr[data-node-id="${network.nodes.carol.id}"]`, { timeout: 5000 });
    await screenshot(page, 'trust');

    await run();
    assert.equal(await carol.locator('.slot[data-field=email]').getAttribute('class'), 'slot');
    assert.match(await carol.locator('.slot[data-field=email] pre').textContent(), /@/);
    // phone stays this node's alone.
    assert.equal(await carol.locator('.slot[data-field=phone]').getAttribute('class'), 'slot error');
    await screenshot(carol, 'query');

    // The page refuses what the CLI refuses, in the CLI's words.
    await page.fill('#trust-form input[name=node]', 'not a key!');
    await page.click('#trust-form button[type=submit]');
    await page.waitForSelector('#trust-message[data-outcome=error]', { timeout: 5000 });
    assert.match(await page.locator('#trust-message').textContent(), /neither a public key .* nor a node id/);
    // (That refusal is a 400 the browser logs; every other console error fails the test.)
    const unexpected = consoleErrors.filter((e) => !e.includes('status of 400'));
    assert.deepEqual(unexpected, []);
  });

  test('the overview charts what the node did', async () => {
    const page = pages.alice;
    await showView(page, 'overview');
    // Alice answered carol's queries: the answered-queries counter the chart plots moved.
    const answered = await page.evaluate(async () =>
      (await (await fetch('/metrics')).text()).match(/requests_answered_total\{type="query",outcome="ok"\} (\d+)/)[1]);
    assert.ok(Number(answered) >= 2, `alice answered ${answered} queries`);
    await waitFor('a few seconds of snapshots', async () => Number(await page.locator('body').getAttribute('data-snapshots')) >= 8);
    await screenshot(page, 'overview');
    // The peers again, carol now trusted at distance 1 (the README's picture).
    await showView(page, 'peers');
    await waitFor('carol trusted in the table', async () =>
      (await page.locator(`#peer-table tr[data-node-id="${network.nodes.carol.id}"] td:nth-child(4)`).textContent()) === '1');
    await page.waitForTimeout(300);
    await screenshot(page, 'peers-after-trust');
  });

  test('a write from the browser without the token is refused', async () => {
    const page = pages.alice;
    const status = await page.evaluate(async (key) => (await fetch('/api/v1/trust/set', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ node: key, distance: 0 }) })).status, network.nodes.bob.publicKey);
    assert.equal(status, 403);
    const trust = JSON.parse((await raw(network.nodes.alice.port, 'GET', '/api/v1/trust', {})).text).data;
    assert.ok(!trust.some((e) => e.public_key === network.nodes.bob.publicKey), 'bob was trusted without the token');
  });

  test('a DNS-rebinding page (foreign Host) gets nothing', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`http://evil.example:${network.nodes.alice.port}/`, { timeout: 10000 });
    assert.equal(response.status(), 403);
    assert.ok(!(await page.content()).includes('datafold-token'));
    await page.close();
    const port = network.nodes.alice.port;
    for (const [method, path] of [['GET', '/'], ['GET', '/api/v1/network/status'], ['GET', '/metrics'], ['POST', '/api/v1/trust/reload']])
      assert.equal((await raw(port, method, path, { Host: `evil.example:${port}` })).status, 403, `${method} ${path}`);
  });

  test('requests carrying a foreign Origin are refused, reads too', async () => {
    const port = network.nodes.alice.port;
    const key = network.nodes.bob.publicKey;
    const token = await pages.alice.locator('meta[name=datafold-token]').getAttribute('content');
    assert.match(token, /^[0-9a-f]{64}$/);
    const body = JSON.stringify({ node: key, distance: 0 });
    const json = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    const own = `http://127.0.0.1:${port}`;
    const cases = [
      ['GET', '/api/v1/network/status', { Origin: 'http://evil.example' }, undefined],
      ['POST', '/api/v1/trust/set', { ...json, Origin: 'http://evil.example', 'X-DataFold-Token': token }, body],
      ['POST', '/api/v1/trust/set', { ...json, Origin: `http://127.0.0.1:${port + 1}`, 'X-DataFold-Token': token }, body],
      ['POST', '/api/v1/trust/set', { ...json, Origin: own }, body],  // own origin, no token
      ['POST', '/api/v1/trust/set', { ...json, Origin: own, 'X-DataFold-Token': '0'.repeat(64) }, body],
      ['GET', '/api/v1/trust', { 'Sec-Fetch-Site': 'cross-site' }, undefined],
    ];
    for (const [method, path, headers, payload] of cases)
      assert.equal((await raw(port, method, path, headers, payload)).status, 403, `${method} ${path} ${JSON.stringify(headers)}`);
    // The same write with the token from the page goes through: the refusals above were the guard's.
    const allowed = await raw(port, 'POST', '/api/v1/trust/set', { ...json, Origin: own, 'X-DataFold-Token': token }, body);
    assert.equal(allowed.status, 200, allowed.text);
    const removed = JSON.stringify({ node: key });
    assert.equal((await raw(port, 'POST', '/api/v1/trust/remove', { 'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(removed), Origin: own, 'X-DataFold-Token': token }, removed)).status, 200);
  });

  test('live feeds are bounded, and a closed tab frees its feed', async () => {
    const port = network.nodes.bob.port;
    const open = [];
    const openFeed = () => new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/v1/events', timeout: 5000 }, (res) => {
        open.push(req);
        resolve(res.statusCode);
        res.resume();
      });
      req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
      req.on('error', (error) => { if (!open.includes(req)) reject(error); });
      req.end();
    });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push(await openFeed());
      assert.deepEqual(statuses, [200, 200, 200, 200, 503]);
      // Closing one (as a closed tab does) frees its place once the node's next write fails.
      open.shift().destroy();
      await waitFor('a feed freed by a closed connection', async () => (await openFeed()) === 200, 10000);
    } finally {
      for (const req of open) req.destroy();
    }
  });
});
