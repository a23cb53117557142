import { gzipSync } from 'node:zlib';
import { buildConsole, bundleSizes } from './build.ts';

/*
 * `npm run console:size`: the page's bundle as the sandbox serves it (minified), measured from
 * esbuild's metafile: bytes of each output, gzipped, and what each package contributes.
 */

const assets = await buildConsole();
for (const o of bundleSizes(assets.metafile)) {
  const served = assets.files.get(`/console/${o.file}`)!.body;
  const parts = Object.entries(o.byPackage)
    .sort((a, b) => b[1] - a[1])
    .map(([pkg, bytes]) => `${pkg} ${bytes}`)
    .join(', ');
  process.stdout.write(
    `${o.file.padEnd(8)} ${String(o.bytes).padStart(7)} bytes, ${String(gzipSync(served).byteLength).padStart(6)} gzipped (${parts})\n`,
  );
}
