#!/usr/bin/env node
/**
 * Builds tsrun's start-up snapshot from the compiled dist/ (part of `npm run build`):
 *
 *   dist/snapshot/tsrun.cjs   every module tsrun runs, bundled into one script (esbuild;
 *                             ssh2 stays outside: its native crypto cannot be snapshotted)
 *   dist/snapshot/tsrun.blob  the V8 heap after that script ran (node --build-snapshot)
 *   dist/snapshot/ssh2.cjs    ssh2 bundled into one script, its native binding and
 *                             cpu-features required by absolute path from node_modules
 *   dist/snapshot/ssh2.cache  V8's code cache of that script (src/transport/ssh2.ts)
 *   dist/snapshot/node.stamp  which Node binary made the blob: a blob only works with the
 *                             Node that built it, and bin/tsrun falls back to the plain
 *                             modules when the stamp does not match the `node` it finds
 *
 * Plain Node ESM, not compiled itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outDir = path.join(root, 'dist', 'snapshot');
const bundle = path.join(outDir, 'tsrun.cjs');
const blob = path.join(outDir, 'tsrun.blob');
const stamp = path.join(outDir, 'node.stamp');
const require = createRequire(import.meta.url);

/** What bin/tsrun compares: `stat -L -c '%s %Y %i'` of the node binary. */
function nodeStamp() {
  const info = statSync(realpathSync(process.execPath));
  return `${info.size} ${Math.floor(info.mtimeMs / 1000)} ${info.ino}`;
}

mkdirSync(outDir, { recursive: true });
// A half-built snapshot must never be picked up: the stamp goes last, and only on success.
rmSync(stamp, { force: true });

/** Both bundles: one CommonJS script for this Node. */
const bundling = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning' };

await build({
  ...bundling,
  entryPoints: [path.join(root, 'dist', 'cli', 'snapshot.js')],
  outfile: bundle,
  external: ['ssh2'],
  // The modules read import.meta.url only in package-root.ts, which the snapshot overrides.
  logOverride: { 'empty-import-meta': 'silent' },
});

// ssh2 by itself, for the snapshot to load at run time. Native parts stay in node_modules.
const ssh2Entry = require.resolve('ssh2');
const cpuFeatures = createRequire(ssh2Entry).resolve('cpu-features');
await build({
  ...bundling,
  entryPoints: [ssh2Entry],
  outfile: path.join(outDir, 'ssh2.cjs'),
  plugins: [
    {
      name: 'native-parts-from-node-modules',
      setup(builder) {
        builder.onResolve({ filter: /\.node$/ }, (args) => ({ path: path.resolve(args.resolveDir, args.path), external: true }));
        builder.onResolve({ filter: /^cpu-features$/ }, () => ({ path: cpuFeatures, external: true }));
      },
    },
  ],
});
// The code cache is made after the bundle ran, so it holds the functions its start compiled.
const { ssh2BundleScript, runSsh2Bundle } = await import(path.join(root, 'dist', 'transport', 'ssh2.js'));
const ssh2Script = ssh2BundleScript(outDir);
runSsh2Bundle(ssh2Script, outDir);
writeFileSync(path.join(outDir, 'ssh2.cache'), ssh2Script.createCachedData());

const temporary = `${blob}.${process.pid}`;
const result = spawnSync(process.execPath, ['--snapshot-blob', temporary, '--build-snapshot', bundle], { cwd: root, encoding: 'utf8' });
if (result.status !== 0) {
  rmSync(temporary, { force: true });
  process.stderr.write(`building the start-up snapshot failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
  process.exit(1);
}
renameSync(temporary, blob);
writeFileSync(stamp, `${nodeStamp()}\n`);
