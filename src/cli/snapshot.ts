/**
 * The entry point of tsrun's start-up snapshot (built by scripts/build-snapshot.js, used by
 * bin/tsrun). Building the snapshot runs every module's top level once; a run then starts
 * from that heap instead of loading and compiling a few hundred files, which is most of
 * the time a short run takes.
 *
 * Only code that can live in a snapshot is loaded at build time: ssh2 (native crypto) is
 * loaded on first use from its own bundle beside the blob (src/transport/ssh2.ts).
 */
import { dirname, join, resolve } from 'node:path';
import v8 from 'node:v8';
import { loadInventory } from '../inventory/index.js';
import { setPackageRoot } from '../package-root.js';
import { loadPlaybook } from '../playbook/load.js';
import { useSsh2Bundle } from '../transport/ssh2.js';
import { main } from './main.js';

/**
 * Functions run while the snapshot is made keep their compiled code in it; the others
 * are compiled on first use in every run. Loading the shipped inventory and playbook (YAML,
 * the schemas, roles) and a check-mode run on localhost (the engine, modules, templates,
 * output) take tens of milliseconds off each run.
 */
async function warmUp(root: string): Promise<void> {
  loadInventory([join(root, 'inventory', 'hosts.ini')]);
  loadPlaybook(join(root, 'playbooks', 'provision.yml'), { rolesPath: [join(root, 'roles')] });
  await main(['run', join(root, 'scripts', 'snapshot-warm-up.yml'), '-i', 'localhost,', '--check', '--diff']);
}

/** The blob this process started from: `<root>/dist/snapshot/tsrun.blob`. */
function blobPath(): string | undefined {
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--snapshot-blob') return args[i + 1];
    if (args[i]!.startsWith('--snapshot-blob=')) return args[i]!.slice('--snapshot-blob='.length);
  }
  return undefined;
}

// Made as `node --build-snapshot <root>/dist/snapshot/tsrun.cjs`; Node takes the snapshot
// once the event loop is empty, after the warm-up.
void warmUp(resolve(dirname(process.argv[1]!), '..', '..'));

v8.startupSnapshot.setDeserializeMainFunction(() => {
  const blob = blobPath();
  if (blob) {
    setPackageRoot(resolve(dirname(blob), '..', '..'));
    useSsh2Bundle(dirname(blob));
  }
  // Started as `node --snapshot-blob BLOB -- ARGS...`: there is no script argument.
  void main(process.argv.slice(1)).then((code) => {
    process.exitCode = code;
  });
});
