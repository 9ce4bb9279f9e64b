/** Run the built tsrun command line as a user would, and read its JSON Lines output. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './hosts.js';

export interface TsrunRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Parsed `--output json` result lines (empty for text output). */
  results: Array<{ host: string; task: string; status: string; item?: unknown; result: Record<string, unknown> }>;
  recap?: Record<string, { ok: number; changed: number; failed: number; skipped: number; unreachable: number; rescued: number; ignored: number }>;
}

export function tsrun(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<TsrunRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(REPO_ROOT, 'bin/tsrun'), args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const run: TsrunRun = { code: code ?? -1, stdout, stderr, results: [] };
      if (args.includes('json')) {
        for (const line of stdout.split('\n').filter(Boolean)) {
          const object = JSON.parse(line);
          if (object.recap) run.recap = object.recap;
          else run.results.push(object);
        }
      }
      resolve(run);
    });
  });
}

/** "host | task | item" for every changed result: what a run changed, comparable across runs. */
export function changedSet(run: TsrunRun): string[] {
  return run.results
    .filter((r) => r.status === 'changed')
    .map((r) => `${r.host} | ${r.task}${r.item === undefined ? '' : ` | ${JSON.stringify(r.item)}`}`)
    .sort();
}
