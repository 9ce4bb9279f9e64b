/**
 * ssh2, loaded when the first SSH connection is made: commands that never connect
 * (--syntax-check, --list-hosts, --version) do not pay for it, and the start-up snapshot
 * (which cannot hold its native crypto binding) loads it at run time.
 */
import { createRequire } from 'node:module';
import type * as Ssh2 from 'ssh2';
import { packagePath } from '../package-root.js';

let loaded: typeof Ssh2 | undefined;

export function ssh2(): typeof Ssh2 {
  return (loaded ??= createRequire(packagePath('package.json'))('ssh2') as typeof Ssh2);
}
