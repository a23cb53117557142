// Each function's zip carries only the chunks its handler can load.
//
// serverless-esbuild builds every handler into one folder, so with `splitting` the chunks of all
// handlers lie side by side and each zip would carry all of them. Before it zips, this plugin reads
// each build's metafile (esbuild's own record of what imports what), follows the handler's static
// and dynamic imports, and excludes every other chunk from that function's package patterns.
'use strict';

const { readFileSync, readdirSync } = require('node:fs');
const { join, relative } = require('node:path');

const CHUNKS = join('src', 'handlers', 'chunks');

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

class ChunksPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    const wrap = () => this.wrapPack();
    // Listed before serverless-esbuild, so this runs first on the hooks that bundle and zip.
    this.hooks = {
      'before:package:createDeploymentArtifacts': wrap,
      'before:deploy:function:packageFunction': wrap,
    };
  }

  esbuildPlugin() {
    return this.serverless.pluginManager
      .getPlugins()
      .find((p) => p.constructor.name === 'EsbuildServerlessPlugin');
  }

  wrapPack() {
    const esbuild = this.esbuildPlugin();
    if (!esbuild) throw new Error('chunks-plugin needs serverless-esbuild');
    if (esbuild.pack.chunksPlugin) return;
    const pack = esbuild.pack;
    esbuild.pack = async () => {
      this.excludeForeignChunks(esbuild);
      return pack();
    };
    esbuild.pack.chunksPlugin = true;
  }

  excludeForeignChunks(esbuild) {
    const buildDir = esbuild.buildDirPath;
    let chunks;
    try {
      chunks = readdirSync(join(buildDir, CHUNKS)).map((f) => join(CHUNKS, f));
    } catch {
      return; // no splitting, no chunks
    }
    for (const { entry, func } of esbuild.functionEntries) {
      if (!func) continue;
      const meta = join(buildDir, `${entry.slice(0, entry.lastIndexOf('.'))}-meta.json`);
      const metafile = JSON.parse(readFileSync(meta, 'utf8'));
      // Metafile paths are relative to the service folder; package patterns to the build folder.
      const keep = new Set(
        [...reachable(metafile, entry)].map((out) =>
          relative(buildDir, join(esbuild.serviceDirPath, out)),
        ),
      );
      func.package = func.package ?? {};
      func.package.patterns = [
        ...(func.package.patterns ?? []),
        '!**/*-meta.json',
        ...chunks.filter((c) => !keep.has(c)).map((c) => `!${c}`),
      ];
    }
  }
}

module.exports = ChunksPlugin;
