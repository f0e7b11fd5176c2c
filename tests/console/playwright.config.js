// Browser tests of the console (issue 15): Debian's chromium, headless, against a real
// `mosaic dev` started by global-setup.js. Run by run.sh (ctest console_browser_test).
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.js/,
  globalSetup: require.resolve('./global-setup.js'),
  workers: 1,
  fullyParallel: false,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  outputDir: process.env.CONSOLE_ARTIFACTS || 'test-results',
  use: {
    headless: true,
    launchOptions: { executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] },
    acceptDownloads: true,
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
  },
});
