// Removes the folders serverless-esbuild's packing leaves in the system temp directory.
//
// For each function's zip, serverless-esbuild (`zip` in dist/utils.js) copies the files into
// `<tmpdir>/<function>-<pid>-<ms>-<8 hex>` and means to remove that folder when the zip is written,
// but its remove is not recursive and fails quietly on a folder with files in it: every
// `npm run package` / `serverless deploy` would leave one folder per function behind. After
// packaging, this removes the folders of this process (its pid is in the name) for the service's
// functions, and nothing else. No option of serverless-esbuild moves or removes that folder, so
// the plugin matches its name: package.json pins serverless-esbuild to one exact version, and
// test/unit/deploy/tmp-cleanup-plugin.test.ts runs that version's `zip` and fails if the folder it
// leaves is named otherwise or is no longer left (then this plugin can go).
'use strict';

const { readdirSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const process = require('node:process');
const { join } = require('node:path');

/** The names serverless-esbuild gives its packing folders, for one function, in this process. */
function packingFolder(fn, pid = process.pid) {
  const escaped = fn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}-${pid}-\\d+-[0-9a-f]{8}$`);
}

/** Removes this process's packing folders of these functions from the temp dir; answers them. */
function removePackingFolders(functions, dir = tmpdir(), pid = process.pid) {
  const patterns = functions.map((fn) => packingFolder(fn, pid));
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const removed = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !patterns.some((p) => p.test(entry.name))) continue;
    rmSync(join(dir, entry.name), { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}

class TmpCleanupPlugin {
  constructor(serverless) {
    const clean = () => {
      removePackingFolders(serverless.service.getAllFunctions());
    };
    this.hooks = {
      'after:package:createDeploymentArtifacts': clean,
      'after:deploy:function:packageFunction': clean,
    };
  }
}

module.exports = TmpCleanupPlugin;
module.exports.removePackingFolders = removePackingFolders;
