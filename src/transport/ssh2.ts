/**
 * ssh2, loaded when the first SSH connection is made: commands that never connect
 * (--syntax-check, --list-hosts, --version) do not pay for it.
 *
 * A start-up snapshot cannot hold ssh2 (its native crypto binding), so the build also
 * bundles ssh2 into one script with a V8 code cache beside it (dist/snapshot/ssh2.cjs and
 * ssh2.cache, see scripts/build-snapshot.js): loading that takes about half the time of
 * resolving, reading and compiling its forty files.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import vm from 'node:vm';
import type * as Ssh2 from 'ssh2';
import { packagePath } from '../package-root.js';

let loaded: typeof Ssh2 | undefined;
let bundleDir: string | undefined;

export function ssh2(): typeof Ssh2 {
  loaded ??= (bundleDir && loadBundle(bundleDir)) || (createRequire(packagePath('package.json'))('ssh2') as typeof Ssh2);
  return loaded;
}

/** Load ssh2 from the build's bundle in `dir` when there is one (the snapshot does). */
export function useSsh2Bundle(dir: string): void {
  bundleDir = dir;
}

/** The bundle as a script; the build makes the code cache from this very script. */
export function ssh2BundleScript(dir: string, cachedData?: Buffer): vm.Script {
  const file = join(dir, 'ssh2.cjs');
  const source = readFileSync(file, 'utf8');
  return new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
}

/** Run the bundle's module function, as require would. */
export function runSsh2Bundle(script: vm.Script, dir: string): typeof Ssh2 {
  const file = join(dir, 'ssh2.cjs');
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, dir);
  return module.exports as typeof Ssh2;
}

function loadBundle(dir: string): typeof Ssh2 | undefined {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(join(dir, 'ssh2.cache'));
  } catch {
    // No cache: the bundle still loads, only compiled afresh.
  }
  try {
    return runSsh2Bundle(ssh2BundleScript(dir, cachedData), dir);
  } catch {
    return undefined; // no bundle: require ssh2 from node_modules
  }
}
