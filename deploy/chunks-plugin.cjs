// Each function's zip carries only the chunks its handler can load.
//
// serverless-esbuild builds every handler into one folder, so with `splitting` the chunks of all
// handlers lie side by side and each zip would carry all of them. This is an esbuild plugin, given
// to serverless-esbuild through its documented `plugins` option (a file exporting a function of
// the serverless instance): when a handler's build ends, it follows the handler's static and
// dynamic imports in esbuild's metafile and writes that function's `package.patterns` (Serverless'
// own per-function include/exclude list, which serverless-esbuild honours when it zips right after
// the build) so that the zip leaves out every chunk but those. Exclude-all-then-include, because
// the builds run concurrently: no build knows the chunks the others write.
'use strict';

const { dirname, extname, join, relative, resolve, sep } = require('node:path');
const process = require('node:process');

/** Where `chunkNames: chunks/[name]-[hash]` puts chunks, relative to the handler's folder. */
const CHUNKS = 'chunks';

const posix = (p) => p.split(sep).join('/');

/** The build outputs a handler can load: its entry and every chunk reachable from it. */
function reachable(metafile, entry) {
  const outputs = metafile.outputs;
  const start = Object.keys(outputs).find((out) => outputs[out].entryPoint === entry);
  if (!start) throw new Error(`chunks-plugin: no output for ${entry} in its metafile`);
  const seen = new Set();
  const visit = (out) => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const imp of outputs[out]?.imports ?? []) if (!imp.external) visit(imp.path);
  };
  visit(start);
  return seen;
}

/**
 * The package patterns of one handler's zip, relative to the build folder: no metafile, no chunk
 * but those the handler can load. `outputs` are metafile paths (relative to `cwd`).
 */
function chunkPatterns({ entry, outdir, outputs, cwd = process.cwd() }) {
  const chunksDir = posix(join(dirname(entry), CHUNKS));
  // The build folder: the handler's output folder less the entry's own folder.
  const buildDir = resolve(outdir, relative(resolve(cwd, dirname(entry)), cwd));
  const keep = [...outputs]
    .map((out) => posix(relative(buildDir, resolve(cwd, out))))
    .filter((out) => out.startsWith(`${chunksDir}/`))
    .sort();
  return ['!**/*-meta.json', `!${chunksDir}/**`, ...keep];
}

/** The functions whose handler is this entry (`src/handlers/getJob.ts` for `...getJob.handler`). */
function functionsOf(service, entry) {
  const module = posix(entry).slice(0, -extname(entry).length);
  return service
    .getAllFunctions()
    .map((name) => service.getFunction(name))
    .filter((fn) => typeof fn.handler === 'string')
    .filter((fn) => fn.handler.slice(0, fn.handler.lastIndexOf('.')) === module);
}

module.exports = (serverless) => {
  // Each function's own patterns from serverless.yml, before this plugin added any: a rebuild
  // (deploy function, watch) writes the list anew instead of appending to it.
  const own = new Map();
  return [
    {
      name: 'chunks-per-function',
      setup(build) {
        const { entryPoints, outdir, metafile, absWorkingDir } = build.initialOptions;
        if (!metafile) throw new Error('chunks-plugin needs custom.esbuild.metafile: true');
        build.onEnd((result) => {
          if (result.errors.length > 0 || !result.metafile) return;
          for (const entry of [entryPoints].flat()) {
            const patterns = chunkPatterns({
              entry,
              outdir,
              outputs: reachable(result.metafile, entry),
              cwd: absWorkingDir ?? process.cwd(),
            });
            for (const fn of functionsOf(serverless.service, entry)) {
              if (!own.has(fn)) own.set(fn, fn.package?.patterns ?? []);
              fn.package = { ...fn.package, patterns: [...own.get(fn), ...patterns] };
            }
          }
        });
      },
    },
  ];
};
module.exports.chunkPatterns = chunkPatterns;
module.exports.reachable = reachable;
