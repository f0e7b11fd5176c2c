// The data-safety page's actions in a real browser (issue 15), after console.spec.js (files
// run in name order, one worker): a node added from a provider's invite (and a forged invite
// refused), a node SIGKILLed shown unreachable, declared down and repaired, then back up; a
// node that lost its disk found by a deep scrub started from the page, its shards repaired;
// the new routes refused without CSRF or to a member; all of it in the audit log.
const { test, expect } = require('@playwright/test');
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');

const URL = () => process.env.MOSAIC_CONSOLE_URL;
const API = () => `${URL()}console/api/v1`;
const BINARY = () => process.env.MOSAIC_BINARY;
const started = [];  // node processes this file started; killed after it
const WAIT = { timeout: 120_000 };  // generous: two cores shared by many

async function login(page) {
  await page.goto(URL());
  await page.getByLabel('name', { exact: true }).fill(process.env.MOSAIC_CONSOLE_USER);
  await page.getByLabel('password', { exact: true }).fill(process.env.MOSAIC_CONSOLE_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.locator('#who')).toContainText('(admin)');
  await page.getByRole('link', { name: 'Data safety' }).click();
  await expect(page.locator('#survives')).toBeVisible();
}

async function shot(page, testInfo, name) {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Starts `mosaic node --config CONFIG`; resolves once it wrote grpc.addr (bounded).
async function startNode(dir) {
  const addr = path.join(dir, 'grpc.addr');
  fs.rmSync(addr, { force: true });
  const log = fs.openSync(path.join(dir, 'node.log'), 'a');
  const proc = spawn(BINARY(), ['node', '--config', path.join(dir, 'node.toml')], { stdio: ['ignore', log, log] });
  started.push(proc);
  for (let i = 0; i < 300 && !fs.existsSync(addr); i++) {
    if (proc.exitCode !== null) throw new Error(`node in ${dir} exited with ${proc.exitCode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!fs.existsSync(addr)) throw new Error(`node in ${dir} did not listen within 30 s`);
  return proc;
}

function devNode(id) {
  const dev = JSON.parse(fs.readFileSync(path.join(process.env.CONSOLE_DEV_DIR, 'dev.json'), 'utf8'));
  return dev.processes.find((p) => p.role === 'node' && p.id === id);
}

// True while `pid` runs (a zombie, which `mosaic dev` reaps only when it stops, does not).
function running(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

// SIGKILLs a dev node and waits until it is gone.
async function killNode(node) {
  process.kill(node.pid, 'SIGKILL');
  for (let i = 0; i < 300; i++) {
    if (!running(node.pid)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node ${node.id} did not die`);
}

// Starts a killed dev node again at the address the gateway knows it by.
async function restartNode(node) {
  const config = path.join(node.dir, 'node.toml');
  const text = fs.readFileSync(config, 'utf8').replace(/^listen = .*$/m, `listen = "${node.address}"`);
  fs.writeFileSync(config, text);
  return startNode(node.dir);
}

// An API call as the page's session: its CSRF token and the console's Origin unless told.
async function api(page, method, route, body, { csrf = true } = {}) {
  const me = await (await page.request.get(`${API()}/me`)).json();
  const headers = { Origin: new globalThis.URL(URL()).origin };
  if (csrf) headers['X-CSRF-Token'] = me.csrf;
  return page.request.fetch(`${API()}${route}`, { method, headers, data: body });
}

const row = (page, node) => page.locator('#nodes tbody tr', { hasText: node });

// The "a / b" of stripes fully healthy, as numbers.
async function healthy(page) {
  const [a, b] = (await page.locator('#healthy').textContent()).split('/').map((t) => Number(t.trim()));
  return { a, b };
}

test.describe.serial('data safety', () => {
  test.afterAll(async () => {
    for (const p of started) if (p.exitCode === null) p.kill('SIGTERM');
  });

  test('the admin adds a node from an invite; a forged invite is refused', async ({ page }, testInfo) => {
    const dir = path.join(process.env.CONSOLE_DEV_DIR, 'invited');
    const port = await freePort();
    execFileSync(BINARY(), ['node', 'init', '--dir', dir, '--provider', 'provider-h', '--listen', `127.0.0.1:${port}`],
      { stdio: 'ignore' });
    const out = execFileSync(BINARY(), ['node', 'tenant', 'add', 'group', '--quota', '10GiB', '--config',
      path.join(dir, 'node.toml')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const invite = out.split('\n').find((l) => l.startsWith('mosaic-invite-1:'));
    expect(invite).toBeTruthy();
    await startNode(dir);
    await login(page);

    // An invite pinning another certificate: refused, nothing added.
    const doc = JSON.parse(Buffer.from(invite.slice('mosaic-invite-1:'.length), 'base64url').toString());
    const forged = `mosaic-invite-1:${Buffer.from(JSON.stringify({ ...doc, fingerprint: `sha256:${'0'.repeat(64)}` })).toString('base64url')}`;
    page.once('dialog', (d) => d.accept());
    await page.getByLabel('node invite').fill(forged);
    await page.getByRole('button', { name: 'Add node' }).click();
    await expect(page.locator('#toast')).toContainText('but the invite pins');
    await expect(row(page, 'provider-h-1')).toHaveCount(0);

    // The real one: the page says what it does to safety before it is added.
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); d.accept(); });
    await page.getByLabel('node invite').fill(invite);
    await page.getByRole('button', { name: 'Add node' }).click();
    await expect(page.locator('#toast')).toContainText('Node provider-h-1 of provider-h added');
    expect(asked).toContain('Adds provider provider-h');
    expect(asked).toContain('never makes the data less safe');
    await expect(row(page, 'provider-h-1')).toContainText('up', WAIT);
    await expect(row(page, 'provider-h-1')).toContainText('active');
    await shot(page, testInfo, 'node-added');
  });

  test('a node killed is shown down with repair progress, then healthy again', async ({ page }, testInfo) => {
    const victim = devNode('provider-g-1');
    expect(victim).toBeTruthy();
    // Something to repair: objects written now have a shard on most nodes.
    for (let i = 0; i < 4; i++) {
      execFileSync('/usr/bin/python3', [path.join(__dirname, 's3.py'), 'put', 'legal-docs', `kill/${i}`, 'x'.repeat(100_000)],
        { env: process.env, stdio: 'ignore' });
    }
    await login(page);
    await expect(row(page, 'provider-g-1')).toContainText('up');
    await expect.poll(async () => Number(await page.locator('#repair-backlog').textContent()), WAIT).toBe(0);
    const doneBefore = Number((await page.locator('#repair-done').textContent()).split(' ')[0] || 0);

    await killNode(victim);
    // The page refreshes itself every 5 s: no reload here.
    await expect(row(page, 'provider-g-1')).toContainText(/unreachable|declared down/, WAIT);
    await expect(row(page, 'provider-g-1')).toContainText('declared down', WAIT);
    await expect.poll(async () => {
      const done = Number((await page.locator('#repair-done').textContent()).split(' ')[0] || 0);
      return done > doneBefore || Number(await page.locator('#repair-backlog').textContent()) > 0;
    }, WAIT).toBe(true);
    await shot(page, testInfo, 'node-down');
    // Repaired: every stripe whole again on the other nodes, the node still down.
    await expect.poll(async () => { const h = await healthy(page); return h.a === h.b && h.b > 0; }, WAIT).toBe(true);
    await expect(page.locator('#repair-backlog')).toHaveText('0');
    await expect(row(page, 'provider-g-1')).toContainText('declared down');

    await restartNode(victim);
    await expect(row(page, 'provider-g-1')).toContainText(/^provider-g\s*provider-g-1\s*up/, WAIT);
    await shot(page, testInfo, 'node-back');
  });

  test('a deep scrub started from the page finds the shards of a node that lost its disk', async ({ page }, testInfo) => {
    const victim = devNode('provider-e-1');
    await login(page);
    // The provider loses the disk: killed, its data gone, started again empty before the
    // gateway declares it down, so only a scrub can tell.
    await killNode(victim);
    for (const f of fs.readdirSync(victim.dir)) {
      if (f !== 'node.toml' && f !== 'node.log') fs.rmSync(path.join(victim.dir, f), { recursive: true, force: true });
    }
    await restartNode(victim);
    await expect(row(page, 'provider-e-1')).toContainText(/^provider-e\s*provider-e-1\s*up/, WAIT);

    // A scrub that cannot reach the node yet skips its shards (not evidence against them):
    // then another run, three at most.
    for (let run = 1; run <= 3; run++) {
      let asked = '';
      page.once('dialog', (d) => { asked = d.message(); d.accept(); });
      await page.getByRole('button', { name: 'Start deep scrub' }).click();
      await expect(page.locator('#toast')).toContainText('Deep scrub started');
      expect(asked).toContain('safety does not change');
      await expect(page.locator('#scrub-state')).toContainText(`Last run finished`, WAIT);
      await expect(page.locator('#scrub-state')).not.toContainText('Running', WAIT);
      if (!/ 0 missing or damaged/.test(await page.locator('#scrub-counts').textContent())) break;
      await new Promise((r) => setTimeout(r, 5000));
    }
    await expect(page.locator('#scrub-counts')).not.toContainText(/ 0 missing or damaged/);
    const findings = page.locator('#scrub-findings');
    const found = findings.locator('tbody tr', { hasText: 'provider-e-1' });
    await expect(found.first()).toContainText('missing', WAIT);
    await expect(found.first()).toContainText('deep scrub');
    // Repaired, and said so.
    await expect(findings.locator('tbody tr', { hasText: 'queued' })).toHaveCount(0, WAIT);
    await expect(findings).toContainText('repaired');
    await shot(page, testInfo, 'scrub-findings');
  });

  test('the safety routes need the CSRF token and an admin, and are audited', async ({ page, browser }) => {
    await login(page);
    expect((await api(page, 'POST', '/admin/scrub', {}, { csrf: false })).status()).toBe(403);
    expect((await api(page, 'POST', '/admin/nodes/invite', { invite: 'x' }, { csrf: false })).status()).toBe(403);
    // A member (no admin) is refused the same routes.
    const made = await api(page, 'POST', '/admin/members', { name: 'bob' });
    expect(made.status()).toBe(200);
    const { password } = await made.json();
    const member = await browser.newContext();
    const origin = new globalThis.URL(URL()).origin;
    const loggedIn = await member.request.post(`${API()}/login`, { headers: { Origin: origin }, data: { name: 'bob', password } });
    expect(loggedIn.status()).toBe(200);
    const { csrf } = await loggedIn.json();
    for (const [method, route] of [['GET', '/admin/scrub'], ['POST', '/admin/scrub'], ['POST', '/admin/nodes/invite'],
      ['POST', '/admin/nodes/impact']]) {
      const r = await member.request.fetch(`${API()}${route}`, { method, headers: { Origin: origin, 'X-CSRF-Token': csrf }, data: {} });
      expect(r.status(), `${method} ${route}`).toBe(403);
    }
    await member.close();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
    const log = page.locator('main table');
    for (const what of ['node.add', 'scrub.start']) await expect(log).toContainText(what);
  });
});
