/** Small process and file helpers the lab's parts share. */
import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function readFileOr(file: string, fallback = ''): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

export function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Whether `pid` runs. A zombie has exited (its parent has not collected it yet): not alive. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const stat = readFileOr(`/proc/${pid}/stat`);
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** SIGTERM, then SIGKILL after `timeoutMs`; returns when every process is gone. */
export async function killAndWait(pidOrPids: number | number[], timeoutMs: number): Promise<void> {
  const pids = Array.isArray(pidOrPids) ? pidOrPids : [pidOrPids];
  const signal = (pid: number, name: NodeJS.Signals): void => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(20);
  const stubborn = pids.filter(isAlive);
  for (const pid of stubborn) signal(pid, 'SIGKILL');
  while (stubborn.some(isAlive)) await sleep(20);
}

/** Resident memory of `pid` in KiB, from /proc (0 when it does not run). */
export function residentKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileOr(`/proc/${pid}/status`));
  return match ? Number(match[1]) : 0;
}
