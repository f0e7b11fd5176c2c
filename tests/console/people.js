// Shared steps of the console's browser tests: logging in, and an admin making a team with one
// new member on the "Members & teams" page.
const { expect } = require('@playwright/test');
const { execFileSync } = require('child_process');
const path = require('path');

// tests/console/s3.py with `env` over the environment: 0 when it worked, 3 when S3 refused.
function s3py(env, ...args) {
  try {
    execFileSync('/usr/bin/python3', [path.join(__dirname, 's3.py'), ...args],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    return 0;
  } catch (e) {
    return e.status;
  }
}

async function login(page, name, password) {
  await page.goto(process.env.MOSAIC_CONSOLE_URL);
  await page.getByLabel('name', { exact: true }).fill(name);
  await page.getByLabel('password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.locator('#who')).toContainText(name);
}

// Logged in as the admin: creates `team` and `member`, puts the member in the team; returns
// the member's one-time password.
async function teamWithMember(page, team, member) {
  await login(page, process.env.MOSAIC_CONSOLE_USER, process.env.MOSAIC_CONSOLE_PASSWORD);
  await page.getByRole('link', { name: 'Members & teams' }).click();
  await page.getByLabel('new team name').fill(team);
  await page.getByRole('button', { name: 'Create team' }).click();
  await expect(page.getByRole('cell', { name: team, exact: true })).toBeVisible();
  await page.getByLabel('new member name').fill(member);
  await page.getByRole('button', { name: 'Add member' }).click();
  const password = (await page.locator('#new-password').textContent()).trim();
  expect(password.length).toBeGreaterThanOrEqual(16);
  await page.getByLabel('team to join').selectOption(team);
  await page.getByLabel('member to add to team').selectOption(member);
  await page.getByRole('button', { name: 'Add to team' }).click();
  await expect(page.locator('#member-list')).toContainText(team);
  return password;
}

module.exports = { login, teamWithMember, s3py };
