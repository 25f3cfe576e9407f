import { access, constants } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';

// Browser tests use Debian's chromium, never a downloaded browser (no network here but the registries).
// `npm test` installs the `chromium` package with the other Debian packages it needs (system/test.ts).
export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Debian chromium through playwright-core. The caller closes it. */
export async function launchBrowser(): Promise<Browser> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(`${CHROMIUM_PATH} is missing: npm test installs it (apt-get install -y chromium)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
