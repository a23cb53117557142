import { build, type Metafile } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The console's page, built when the sandbox or `async-jobs console` starts: esbuild in memory
 * (`write: false`), so nothing built is committed or left on disk. One script and one stylesheet,
 * both from the page's own origin (the CSP allows nothing else).
 */

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = join(PROJECT_DIR, 'src/console/page/main.tsx');

export interface Asset {
  body: Buffer;
  contentType: string;
}

export interface ConsoleAssets {
  /** By path under the console's mount: `/console`, `/console/app.js`, `/console/app.css`. */
  files: Map<string, Asset>;
  /** esbuild's account of the bundle: what each input contributes to each output. */
  metafile: Metafile;
}

/** The page's HTML: no inline script or style, the two assets by URL. */
export function pageHtml(mount = '/console'): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>async-jobs console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${mount}/app.css">
<script type="module" src="${mount}/app.js"></script>
</head>
<body>
<div id="app"></div>
<noscript>The console needs JavaScript.</noscript>
</body>
</html>
`;
}

export async function buildConsole(opts: { minify?: boolean } = {}): Promise<ConsoleAssets> {
  const out = await build({
    entryPoints: { app: ENTRY },
    absWorkingDir: PROJECT_DIR,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: opts.minify ?? true,
    // A virtual folder: with `write: false` nothing is written, the names only label the outputs.
    outdir: join(PROJECT_DIR, '.console-build'),
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const files = new Map<string, Asset>();
  files.set('/console', {
    body: Buffer.from(pageHtml()),
    contentType: 'text/html; charset=utf-8',
  });
  for (const f of out.outputFiles) {
    if (f.path.endsWith('app.js')) {
      files.set('/console/app.js', {
        body: Buffer.from(f.contents),
        contentType: 'text/javascript; charset=utf-8',
      });
    } else if (f.path.endsWith('app.css')) {
      files.set('/console/app.css', {
        body: Buffer.from(f.contents),
        contentType: 'text/css; charset=utf-8',
      });
    }
  }
  if (files.size !== 3) throw new Error('the console build gave no app.js or no app.css');
  return { files, metafile: out.metafile };
}

/** Bytes of each output and what of it comes from node_modules, from the metafile. */
export function bundleSizes(metafile: Metafile): {
  file: string;
  bytes: number;
  byPackage: Record<string, number>;
}[] {
  return Object.entries(metafile.outputs).map(([file, o]) => {
    const byPackage: Record<string, number> = {};
    for (const [input, { bytesInOutput }] of Object.entries(o.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? 'project';
      byPackage[pkg] = (byPackage[pkg] ?? 0) + bytesInOutput;
    }
    return { file: file.split('/').pop()!, bytes: o.bytes, byPackage };
  });
}
