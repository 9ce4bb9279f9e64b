#!/usr/bin/env node
/**
 * Builds tsrun's start-up snapshot from the compiled dist/ (part of `npm run build`):
 *
 *   dist/snapshot/tsrun.cjs   every module tsrun runs, bundled into one script (esbuild;
 *                             ssh2 stays outside: its native crypto cannot be snapshotted)
 *   dist/snapshot/tsrun.blob  the V8 heap after that script ran (node --build-snapshot)
 *   dist/snapshot/node.stamp  which Node binary made the blob: a blob only works with the
 *                             Node that built it, and bin/tsrun falls back to the plain
 *                             modules when the stamp does not match the `node` it finds
 *
 * Plain Node ESM, not compiled itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outDir = path.join(root, 'dist', 'snapshot');
const bundle = path.join(outDir, 'tsrun.cjs');
const blob = path.join(outDir, 'tsrun.blob');
const stamp = path.join(outDir, 'node.stamp');

/** What bin/tsrun compares: `stat -L -c '%s %Y %i'` of the node binary. */
function nodeStamp() {
  const info = statSync(realpathSync(process.execPath));
  return `${info.size} ${Math.floor(info.mtimeMs / 1000)} ${info.ino}`;
}

mkdirSync(outDir, { recursive: true });
// A half-built snapshot must never be picked up: the stamp goes last, and only on success.
rmSync(stamp, { force: true });

await build({
  entryPoints: [path.join(root, 'dist', 'cli', 'snapshot.js')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['ssh2'],
  logLevel: 'warning',
  // The modules read import.meta.url only in package-root.ts, which the snapshot overrides.
  logOverride: { 'empty-import-meta': 'silent' },
});

const temporary = `${blob}.${process.pid}`;
const result = spawnSync(process.execPath, ['--snapshot-blob', temporary, '--build-snapshot', bundle], { cwd: root, encoding: 'utf8' });
if (result.status !== 0) {
  rmSync(temporary, { force: true });
  process.stderr.write(`building the start-up snapshot failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
  process.exit(1);
}
renameSync(temporary, blob);
writeFileSync(stamp, `${nodeStamp()}\n`);
