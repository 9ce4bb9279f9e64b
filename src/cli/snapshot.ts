/**
 * The entry point of tsrun's start-up snapshot (built by scripts/build-snapshot.js, used by
 * bin/tsrun). Building the snapshot runs every module's top level once; a run then starts
 * from that heap instead of loading and compiling a few hundred files, which is most of
 * the time a short run takes.
 *
 * Only code that can live in a snapshot is loaded at build time: ssh2 (native crypto) is
 * loaded on first use from its own bundle beside the blob (src/transport/ssh2.ts).
 */
import { dirname, resolve } from 'node:path';
import v8 from 'node:v8';
import { setPackageRoot } from '../package-root.js';
import { useSsh2Bundle } from '../transport/ssh2.js';
import { main } from './main.js';

/** The blob this process started from: `<root>/dist/snapshot/tsrun.blob`. */
function blobPath(): string | undefined {
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--snapshot-blob') return args[i + 1];
    if (args[i]!.startsWith('--snapshot-blob=')) return args[i]!.slice('--snapshot-blob='.length);
  }
  return undefined;
}

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
