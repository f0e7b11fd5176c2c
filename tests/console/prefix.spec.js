// A team grant limited to a key prefix (issue 15), created from the page: its member sees the
// bucket, browses and uploads under the prefix, and is refused everywhere else in it, through
// the page's S3 relay and the JSON API alike. Runs after console.spec.js (name order), which
// made the buckets and put hello.txt at the root of press-photos.
const { test, expect } = require('@playwright/test');
const { login, teamWithMember, s3py } = require('./people');

const URL = () => process.env.MOSAIC_CONSOLE_URL;
const API = () => `${URL()}console/api/v1`;

test('a team grant limited to a prefix: its member works under it and nowhere else', async ({ page, browser }, testInfo) => {
  page.on('dialog', (d) => d.accept());
  const password = await teamWithMember(page, 'archive', 'cat');
  await page.getByLabel('team for grant').selectOption('archive');
  await page.getByLabel('team grant bucket').fill('press-photos');
  await page.getByLabel('team grant prefix').fill('archive/');
  await page.getByLabel('team grant right').selectOption('write');
  await page.getByRole('button', { name: 'Set grant' }).last().click();
  await expect(page.getByRole('cell', { name: 'press-photos/archive/*: write' })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('prefix-grant.png'), fullPage: true });

  const context = await browser.newContext();
  const member = await context.newPage();
  await login(member, 'cat', password);
  // The bucket is listed, and opens at the prefix.
  await member.getByRole('link', { name: 'press-photos' }).click();
  await expect(member).toHaveURL(/#\/files\/press-photos\/archive%2F$/);
  await member.getByLabel('files to upload').setInputFiles({ name: 'minutes.txt', mimeType: 'text/plain', buffer: Buffer.from('minutes\n') });
  await expect(member.locator('[data-upload="archive/minutes.txt"]')).toContainText('done', { timeout: 60_000 });
  await expect(member.locator('tr[data-key="archive/minutes.txt"]')).toBeVisible();
  await member.screenshot({ path: testInfo.outputPath('prefix-member.png'), fullPage: true });

  // Their own S3 key for the folder, from the "S3 keys" page: boto3 works under the prefix and
  // is refused beside it; a key for the whole bucket is refused on the page.
  await member.getByRole('link', { name: 'S3 keys' }).click();
  await member.getByLabel('key name').fill('archive tool');
  await member.getByLabel('bucket').selectOption('press-photos/archive/');
  await expect(member.getByLabel('key limited to prefix')).toHaveValue('archive/');
  await member.getByLabel('right').selectOption('write');
  await member.getByRole('button', { name: 'Create key' }).click();
  const keyEnv = {
    AWS_ACCESS_KEY_ID: (await member.locator('#new-key-id').textContent()).trim(),
    AWS_SECRET_ACCESS_KEY: (await member.locator('#new-key-secret').textContent()).trim(),
  };
  await expect(member.getByRole('row', { name: /archive tool/ })).toContainText('press-photos/archive/*: write');
  await member.screenshot({ path: testInfo.outputPath('prefix-key.png'), fullPage: true });
  expect(s3py(keyEnv, 'roundtrip', 'press-photos', 'archive/from-boto3.bin')).toBe(0);
  expect(s3py(keyEnv, 'roundtrip', 'press-photos', 'from-boto3.bin')).toBe(3);
  expect(s3py(keyEnv, 'roundtrip', 'press-photos', 'archivex.bin')).toBe(3);
  await member.getByLabel('key name').fill('too wide');
  await member.getByLabel('key limited to prefix').fill('');
  await member.getByRole('button', { name: 'Create key' }).click();
  await expect(member.locator('#toast')).toContainText('does not hold write on press-photos');
  await expect(member.getByRole('row', { name: /too wide/ })).toHaveCount(0);

  // Elsewhere in the bucket: refused, through the relay and the JSON API.
  const me = await (await member.request.get(`${API()}/me`)).json();
  const headers = { Origin: new globalThis.URL(URL()).origin, 'X-CSRF-Token': me.csrf };
  const s3 = `${API()}/s3/press-photos`;
  expect((await member.request.get(`${s3}/archive/minutes.txt`)).status()).toBe(200);
  expect((await member.request.get(`${s3}?list-type=2&prefix=archive%2F`)).status()).toBe(200);
  expect((await member.request.get(`${s3}?list-type=2&prefix=`)).status()).toBe(403);
  expect((await member.request.get(`${s3}/hello.txt`)).status()).toBe(403);
  expect((await member.request.put(`${s3}/other/x.txt`, { headers, data: 'x' })).status()).toBe(403);
  expect((await member.request.put(`${s3}/archivex.txt`, { headers, data: 'x' })).status()).toBe(403);
  expect((await member.request.delete(`${s3}/hello.txt`, { headers })).status()).toBe(403);
  expect((await member.request.get(`${API()}/object?bucket=press-photos&key=hello.txt`)).status()).toBe(404);
  expect((await member.request.post(`${API()}/share`, { headers, data: { bucket: 'press-photos', key: 'hello.txt', expires_s: 60 } })).status()).toBe(403);
  // An object in their folder can be shared.
  const share = await member.request.post(`${API()}/share`, { headers, data: { bucket: 'press-photos', key: 'archive/minutes.txt', expires_s: 600 } });
  expect(share.status()).toBe(200);
  const { url } = await share.json();
  const fresh = await browser.newContext();
  expect(await (await fresh.request.get(url)).text()).toBe('minutes\n');
  await fresh.close();
  await context.close();
});
