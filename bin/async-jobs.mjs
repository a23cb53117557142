#!/usr/bin/env node
// The CLI runs from its TypeScript source through tsx, installed with the project, without tsx's
// cache in the system temp dir (see run-ts.mjs): the switch is read when tsx loads.
process.env.TSX_DISABLE_CACHE ??= '1';
const { register } = await import('tsx/esm/api');

register();
await import('../src/cli/main.ts');
