/**
 * A host's run state: whether it is still in the play, and the PLAY RECAP counts. The
 * engine changes it only through these named transitions, which count as ansible-core does.
 */
import { emptyStats, type HostStats, type ResultStatus } from '../report/types.js';

/** active: runs the next task · failed: out of the play (a rescue may take it back) · unreachable: out for good. */
export type HostStanding = 'active' | 'failed' | 'unreachable';

export class HostRun {
  readonly stats: HostStats = emptyStats();
  #standing: HostStanding = 'active';

  get standing(): HostStanding {
    return this.#standing;
  }

  /** Neither failed nor unreachable: the host runs the next task. */
  get active(): boolean {
    return this.#standing === 'active';
  }

  get failed(): boolean {
    return this.#standing === 'failed';
  }

  get unreachable(): boolean {
    return this.#standing === 'unreachable';
  }

  /**
   * Count one task's result. An ignored failure counts ok and ignored (and changed when the
   * result changed something), as ansible-core does; a skipped loop counts once, not per item.
   */
  recordResult(status: ResultStatus, { ignored = false, changed = false }: { ignored?: boolean; changed?: boolean } = {}): void {
    switch (status) {
      case 'unreachable':
        this.markUnreachable();
        return;
      case 'failed':
        if (!ignored) {
          this.markFailed();
          return;
        }
        this.stats.ok++;
        this.stats.ignored++;
        if (changed) this.stats.changed++;
        return;
      case 'skipped':
        this.stats.skipped++;
        return;
      case 'changed':
        this.stats.changed++;
        this.stats.ok++;
        return;
      default:
        this.stats.ok++;
    }
  }

  markFailed(): void {
    this.stats.failed++;
    if (this.#standing === 'active') this.#standing = 'failed';
  }

  markUnreachable(): void {
    this.stats.unreachable++;
    this.#standing = 'unreachable';
  }

  /** A block's rescue takes a host that failed in it back: its failure counts as rescued instead. */
  rescue(): boolean {
    if (this.#standing !== 'failed') return false;
    this.#standing = 'active';
    this.stats.failed--;
    this.stats.rescued++;
    return true;
  }

  /**
   * A failed host still runs a block's `always` and forced handlers: it is active for them, and
   * the returned function puts it back out of the play (unless it became unreachable meanwhile).
   */
  reprieve(): () => void {
    if (this.#standing !== 'failed') return () => undefined;
    this.#standing = 'active';
    return () => {
      if (this.#standing !== 'unreachable') this.#standing = 'failed';
    };
  }
}

interface HasRun {
  run: HostRun;
}

/** The hosts that run the next task. */
export function stillActive<T extends HasRun>(hosts: T[]): T[] {
  return hosts.filter((host) => host.run.active);
}

/** Run `body` with the given failed hosts active, then put them back out of the play. */
export async function withReprieve<T>(hosts: HasRun[], body: () => Promise<T>): Promise<T> {
  const restore = hosts.map((host) => host.run.reprieve());
  try {
    return await body();
  } finally {
    for (const back of restore) back();
  }
}

/** max_fail_percentage: more than this share of the batch failed (unreachable hosts do not count, as in ansible-core). */
export function exceedsMaxFail(batch: Array<HostRun | undefined>, maxFailPercentage: number): boolean {
  const failed = batch.filter((run) => run?.failed).length;
  return (failed / batch.length) * 100 > maxFailPercentage;
}

/**
 * Every host of a batch (a `serial` batch, or the whole play) that was still in it has failed
 * or become unreachable: ansible-core then ends the playbook, later batches and plays too.
 */
export function wholeBatchLost(activeAtStart: HostRun[], batchSize: number): boolean {
  return batchSize > 0 && activeAtStart.length === batchSize && activeAtStart.every((run) => !run.active);
}

/** The PLAY RECAP: every host the run touched, in the order it first did. */
export function recap(hosts: Iterable<[string, HasRun]>): Record<string, HostStats> {
  return Object.fromEntries([...hosts].map(([name, host]) => [name, host.run.stats]));
}
