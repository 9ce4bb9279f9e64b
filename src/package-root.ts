/**
 * Where the installed package lives: the shipped playbooks/ and roles/, and node_modules/
 * for the dependencies loaded on demand.
 *
 * The modules find it from their own URL; code started from the start-up snapshot (see
 * src/cli/snapshot.ts) was loaded somewhere else and is told the place with `setPackageRoot`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  root ??= fileURLToPath(new URL('..', import.meta.url));
  return root;
}

export function setPackageRoot(path: string): void {
  root = path;
}

export function packagePath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}
