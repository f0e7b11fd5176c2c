// The console in a real browser (issue 15): an admin sets up a team, a member and a grant;
// the member uploads, downloads, shares and makes S3 keys; hostile input stays inert; a
// forged cross-site POST and password guessing are refused; the audit log shows it all.
const { test, expect } = require('@playwright/test');
const { login, teamWithMember, s3py } = require('./people');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const URL = () => process.env.MOSAIC_CONSOLE_URL;
const XSS = '<img src=x onerror=alert(1)>';
const state = {};

async function shot(page, testInfo, name) {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

test.describe.serial('console', () => {
  test('admin creates a team, a member and a grant', async ({ page }, testInfo) => {
    page.on('dialog', (d) => d.accept());
    state.annPassword = await teamWithMember(page, 'press', 'ann');
    await page.getByLabel('team for grant').selectOption('press');
    await page.getByLabel('team grant bucket').fill('press-photos');
    await page.getByLabel('team grant right').selectOption('write');
    await page.getByRole('button', { name: 'Set grant' }).last().click();
    await expect(page.getByRole('cell', { name: 'press-photos: write' })).toBeVisible();
    await shot(page, testInfo, 'admin-members');
  });

  test('wrong passwords are throttled', async ({ page, request }) => {
    await page.goto(URL());
    await page.getByLabel('name', { exact: true }).fill('ann');
    await page.getByLabel('password', { exact: true }).fill('not her password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.locator('#login-error')).toContainText('wrong name or password');
    const origin = new globalThis.URL(URL()).origin;
    let last;
    for (let i = 0; i < 6; i++) {
      last = await request.post(`${URL()}console/api/v1/login`, {
        headers: { Origin: origin }, data: { name: 'ann', password: `guess ${i}` } });
      if (last.status() === 429) break;
      expect(last.status()).toBe(401);
    }
    expect(last.status()).toBe(429);
    expect(Number(last.headers()['retry-after'])).toBeGreaterThan(0);
    // The throttle counts per name: wait it out before the member logs in.
    await new Promise((r) => setTimeout(r, (Number(last.headers()['retry-after']) + 1) * 1000));
  });

  test('the member sees only granted buckets, uploads 20 MiB and downloads it whole', async ({ page }, testInfo) => {
    await login(page, 'ann', state.annPassword);
    await expect(page.getByRole('link', { name: 'press-photos' })).toBeVisible();
    await expect(page.getByText('legal-docs')).toHaveCount(0);
    await page.getByRole('link', { name: 'press-photos' }).click();
    const big = crypto.randomBytes(20 * 1024 * 1024);
    await page.getByLabel('files to upload').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: big });
    const row = page.locator('[data-upload="big.bin"]');
    await expect(row.locator('progress')).toBeVisible();
    await expect(row).toContainText('done', { timeout: 120_000 });
    await expect(row.locator('progress')).toHaveAttribute('max', String(big.length));
    await page.getByLabel('files to upload').setInputFiles({ name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, collective\n') });
    await expect(page.locator('tr[data-key="hello.txt"]')).toBeVisible();
    await shot(page, testInfo, 'member-browser');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('tr[data-key="big.bin"]').getByRole('link', { name: 'Download' }).click(),
    ]);
    const got = fs.readFileSync(await download.path());
    expect(got.length).toBe(big.length);
    expect(crypto.createHash('sha256').update(got).digest('hex'))
      .toBe(crypto.createHash('sha256').update(big).digest('hex'));
    await page.locator('tr[data-key="big.bin"]').getByRole('button', { name: 'big.bin' }).click();
    await expect(page.locator('#details')).toContainText('provider-');
    await expect(page.locator('#details')).toContainText('up');
    await shot(page, testInfo, 'object-details');
  });

  test('the member cannot reach another bucket through the API', async ({ page }) => {
    await login(page, 'ann', state.annPassword);
    const status = await page.evaluate(async () => (await fetch('/console/api/v1/s3/legal-docs/?list-type=2')).status);
    expect(status).toBe(403);
  });

  test('a quota refuses an upload', async ({ page, browser }, testInfo) => {
    page.on('dialog', (d) => d.accept());
    await login(page, process.env.MOSAIC_CONSOLE_USER, process.env.MOSAIC_CONSOLE_PASSWORD);
    await page.getByRole('link', { name: 'Buckets & quotas' }).click();
    // The counters hold what the member uploaded: 20 MiB and a few bytes.
    await expect(page.locator('[data-usage="press-photos"]')).toContainText('20.0 MiB · 2 objects');
    await page.getByLabel('bucket for quota').selectOption('press-photos');
    await page.getByLabel('quota in MiB').fill('1');
    await page.getByRole('button', { name: 'Set quota' }).click();
    await expect(page.locator('#bucket-list tr', { hasText: 'press-photos' })).toContainText('1.0 MiB');
    const context = await browser.newContext();
    const member = await context.newPage();
    await login(member, 'ann', state.annPassword);
    await expect(member.locator('[data-usage="press-photos"]')).toContainText('of 1.0 MiB');
    await member.getByRole('link', { name: 'press-photos' }).click();
    await member.getByLabel('files to upload').setInputFiles({ name: 'over.bin', mimeType: 'application/octet-stream', buffer: crypto.randomBytes(2 * 1024 * 1024) });
    const row = member.locator('[data-upload="over.bin"]');
    await expect(row).toContainText('QuotaExceeded', { timeout: 60_000 });
    await expect(row).toContainText('over its quota');
    await shot(member, testInfo, 'quota-refused');
    await member.reload();
    await expect(member.locator('tr[data-key="hello.txt"]')).toBeVisible();
    await expect(member.locator('tr[data-key="over.bin"]')).toHaveCount(0);
    await context.close();
    // Nothing was stored, and the quota is lifted for the tests that follow.
    await page.reload();
    await expect(page.locator('[data-usage="press-photos"]')).toContainText('20.0 MiB of 1.0 MiB · 2 objects');
    await page.getByLabel('bucket for quota').selectOption('press-photos');
    await page.getByLabel('quota in MiB').fill('0');
    await page.getByRole('button', { name: 'Set quota' }).click();
    await expect(page.locator('#bucket-list tr', { hasText: 'press-photos' })).toContainText('none');
  });

  test('the member uploads a whole folder, subfolders kept', async ({ page }, testInfo) => {
    const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'console-folder-'));
    const album = path.join(dir, 'album');
    fs.mkdirSync(path.join(album, 'day 2'), { recursive: true });
    fs.writeFileSync(path.join(album, 'cover.txt'), 'the cover\n');
    fs.writeFileSync(path.join(album, 'day 2', 'notes.txt'), 'notes of day 2\n');
    await login(page, 'ann', state.annPassword);
    await page.getByRole('link', { name: 'press-photos' }).click();
    await page.getByLabel('folder to upload').setInputFiles(album);
    for (const key of ['album/cover.txt', 'album/day 2/notes.txt']) {
      await expect(page.locator(`[data-upload="${key}"]`)).toContainText('done', { timeout: 60_000 });
    }
    await page.getByRole('link', { name: 'album/' }).click();
    await expect(page.locator('tr[data-key="album/cover.txt"]')).toBeVisible();
    await page.getByRole('link', { name: 'day 2/' }).click();
    await expect(page.locator('tr[data-key="album/day 2/notes.txt"]')).toBeVisible();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('tr[data-key="album/day 2/notes.txt"]').getByRole('link', { name: 'Download' }).click(),
    ]);
    expect(fs.readFileSync(await download.path(), 'utf8')).toBe('notes of day 2\n');
    await shot(page, testInfo, 'folder-upload');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the member changes her password and logs in with the new one', async ({ page }) => {
    await login(page, 'ann', state.annPassword);
    await page.getByRole('link', { name: 'Password' }).click();
    await page.getByLabel('current password').fill(state.annPassword);
    await page.getByLabel('new password', { exact: true }).fill('too short');
    await page.getByLabel('new password again').fill('too short');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.locator('#password-message')).toContainText('at least 10 characters');
    await page.getByLabel('new password again').fill('something else entirely');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.locator('#password-message')).toContainText('differ');
    await page.getByLabel('current password').fill('not the current one');
    const fresh = 'correct horse battery staple';
    await page.getByLabel('new password', { exact: true }).fill(fresh);
    await page.getByLabel('new password again').fill(fresh);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.locator('#password-message')).toContainText('current password is wrong');
    await page.getByLabel('current password').fill(state.annPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    // The change ends her sessions, this one too.
    await expect(page.locator('#login-error')).toContainText('Password changed');
    const me = await page.evaluate(async () => (await fetch('/console/api/v1/me')).status);
    expect(me).toBe(401);
    state.annPassword = fresh;
    await login(page, 'ann', fresh);
  });

  test('a share link works in a fresh context and fails after expiry', async ({ page, browser }) => {
    await login(page, 'ann', state.annPassword);
    await page.getByRole('link', { name: 'press-photos' }).click();
    await page.locator('tr[data-key="hello.txt"]').getByRole('button', { name: 'Share' }).click();
    await page.getByLabel('link expiry').selectOption('5');
    await page.getByRole('button', { name: 'Make link' }).click();
    const url = await page.getByLabel('share link').inputValue();
    const fresh = await browser.newContext();
    const ok = await fresh.request.get(url);
    expect(ok.status()).toBe(200);
    expect(await ok.text()).toBe('hello, collective\n');
    await new Promise((r) => setTimeout(r, 7000));
    const late = await fresh.request.get(url);
    expect(late.status()).toBe(403);
    await fresh.close();
  });

  test('an S3 key works with boto3 and stops after revoke', async ({ page }, testInfo) => {
    page.on('dialog', (d) => d.accept());
    await login(page, 'ann', state.annPassword);
    await page.getByRole('link', { name: 'S3 keys' }).click();
    await page.getByLabel('key name').fill('backup tool');
    await page.getByLabel('bucket').selectOption('press-photos');
    await page.getByLabel('right').selectOption('write');
    await page.getByRole('button', { name: 'Create key' }).click();
    const id = (await page.locator('#new-key-id').textContent()).trim();
    const secret = (await page.locator('#new-key-secret').textContent()).trim();
    await shot(page, testInfo, 'keys');
    const env = { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret };
    expect(s3py(env, 'roundtrip', 'press-photos', 'from-boto3.bin')).toBe(0);
    expect(s3py(env, 'roundtrip', 'legal-docs', 'nope.bin')).toBe(3);
    await page.getByRole('row', { name: /backup tool/ }).getByRole('button', { name: 'Revoke' }).click();
    await expect(page.getByRole('row', { name: /backup tool/ })).toHaveCount(0);
    expect(s3py(env, 'roundtrip', 'press-photos', 'from-boto3.bin')).toBe(3);
  });

  test('a hostile key name renders as text', async ({ page }, testInfo) => {
    expect(s3py({}, 'put', 'press-photos', XSS, 'x')).toBe(0);
    let dialogs = 0;
    page.on('dialog', (d) => { dialogs++; d.dismiss(); });
    await login(page, 'ann', state.annPassword);
    await page.getByRole('link', { name: 'press-photos' }).click();
    await expect(page.getByRole('button', { name: XSS })).toBeVisible();
    await expect(page.locator('img[src="x"]')).toHaveCount(0);
    await page.getByRole('button', { name: XSS }).click();
    await expect(page.locator('#details h2').first()).toHaveText(XSS);
    expect(dialogs).toBe(0);
    await shot(page, testInfo, 'xss-inert');
  });

  test('a forged cross-site POST is refused', async ({ page, context }) => {
    await login(page, process.env.MOSAIC_CONSOLE_USER, process.env.MOSAIC_CONSOLE_PASSWORD);
    const target = `${URL()}console/api/v1/admin/members`;
    await context.route('http://attacker.test/', (route) => route.fulfill({
      contentType: 'text/html',
      body: `<form method="POST" action="${target}" enctype="text/plain">
             <input name='{"name":"forged","x":"' value='"}'></form>
             <script>document.forms[0].submit()</script>` }));
    const [response] = await Promise.all([
      page.waitForResponse(target),
      page.goto('http://attacker.test/'),
    ]);
    expect([401, 403]).toContain(response.status());
    // And with the session's cookie but a foreign Origin, from the API directly.
    const forged = await page.request.post(target, {
      headers: { Origin: 'http://attacker.test', 'Content-Type': 'application/json' },
      data: { name: 'forged2' } });
    expect(forged.status()).toBe(403);
    const noToken = await page.request.post(target, {
      headers: { Origin: new globalThis.URL(URL()).origin }, data: { name: 'forged3' } });
    expect(noToken.status()).toBe(403);
    await page.goto(`${URL()}#/members`);
    await expect(page.locator('#member-list')).toContainText('ann');
    await expect(page.locator('#member-list')).not.toContainText('forged');
  });

  test('the admin drains a node from the data safety page', async ({ page }, testInfo) => {
    page.on('dialog', (d) => d.accept());
    await login(page, process.env.MOSAIC_CONSOLE_USER, process.env.MOSAIC_CONSOLE_PASSWORD);
    await page.getByRole('link', { name: 'Data safety' }).click();
    await expect(page.locator('#survives')).toBeVisible();
    const row = (node = 'provider-f-1') => page.locator('#nodes tbody tr', { hasText: node });
    // Seven providers for 4+2: draining one leaves six, as safe as before.
    await row().getByRole('button', { name: 'Drain' }).click();
    await expect(row()).toContainText('draining');
    await expect(page.locator('.drain-progress')).toContainText('shards moved');
    await shot(page, testInfo, 'data-safety');
    // A second drain meanwhile would leave five providers for six shards: refused, as
    // `mosaic node drain` refuses it, and said on the page.
    await row('provider-e-1').getByRole('button', { name: 'Drain' }).click();
    await expect(page.locator('#toast')).toContainText('Not done');
    await expect(row('provider-e-1')).toContainText('active');
    await row().getByRole('button', { name: 'Undrain' }).click();
    await expect(row()).toContainText('active');
  });

  test('the audit log shows logins, failures, changes and node actions', async ({ page }, testInfo) => {
    await login(page, process.env.MOSAIC_CONSOLE_USER, process.env.MOSAIC_CONSOLE_PASSWORD);
    await page.getByRole('link', { name: 'Audit log' }).click();
    const log = page.locator('main table');
    for (const what of ['login.failed', 'login.throttled', 'member.add', 'team.create', 'grant.set',
      'key.create', 'key.revoke', 'share', 'bucket.quota', 'member.password', 'node.drain', 'node.activate']) {
      await expect(log).toContainText(what);
    }
    await expect(log).toContainText('127.0.0.1');
    await shot(page, testInfo, 'audit');
  });
});
