import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/*
 * Debian's Chromium driven by playwright-core (a devDependency: the screenshot command and the
 * browser tests use it, the page does not). The flags are DESIGN.md's: without the networking
 * ones it tries to reach the internet and stalls.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}
