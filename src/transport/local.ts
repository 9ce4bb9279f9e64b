/** `ansible_connection=local`: scripts run on the control machine with /bin/sh. */
import { spawn } from 'node:child_process';
import { command } from './quote.js';
import type { ExecOptions, ExecResult, Transport } from './types.js';

export function becomeWrap(script: string, becomeUser: string | undefined, env: Record<string, string> | undefined): string {
  const exports = Object.entries(env ?? {})
    .map(([name, value]) => `export ${name}=${command(value)}`)
    .join('\n');
  const body = exports ? `${exports}\n${script}` : script;
  if (!becomeUser) return body;
  // -n: never prompt; a password, when needed, is handled by the SSH transport.
  return command('sudo', '-n', '-H', '-u', becomeUser, '--', 'sh', '-c', body);
}

export class LocalTransport implements Transport {
  roundTrips = 0;

  exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.roundTrips++;
    const full = becomeWrap(script, options.becomeUser, options.env);
    return new Promise((resolve, reject) => {
      // With a deadline the command leads a process group of its own, to end with its children.
      const deadline = options.deadline;
      const child = spawn('/bin/sh', ['-c', full], { stdio: ['pipe', 'pipe', 'pipe'], detached: deadline !== undefined });
      const kill = (signal: NodeJS.Signals): void => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
      };
      const timers =
        deadline === undefined
          ? []
          : [
              setTimeout(() => kill('SIGTERM'), Math.max(0, deadline - Date.now())),
              setTimeout(() => kill('SIGKILL'), Math.max(0, deadline - Date.now()) + 1000),
            ];
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        for (const timer of timers) clearTimeout(timer);
        resolve({
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          code: code ?? (signal ? 128 : 1),
        });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.stdin ?? '');
    });
  }

  async close(): Promise<void> {}
}
