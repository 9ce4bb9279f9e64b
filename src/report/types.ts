/** What the engine tells the reporters (console, JSON lines, log file). */
import type { ModuleResult } from '../modules/types.js';
import type { SourcePos } from '../input-error.js';

export type ResultStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

export interface HostStats {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export const emptyStats = (): HostStats => ({ ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 });

export interface TaskInfo {
  name: string;
  role?: string;
  /** The module the task runs (debug results are always shown). */
  module?: string;
  pos?: SourcePos;
  handler?: boolean;
}

export interface ResultEvent {
  host: string;
  task: TaskInfo;
  status: ResultStatus;
  /** The module result, already redacted. */
  result: ModuleResult;
  /** Loop item label when this is one item of a loop. */
  item?: unknown;
  delegatedTo?: string;
  ignored?: boolean;
}

export interface Reporter {
  playStart(name: string, hosts: string[]): void;
  taskStart(task: TaskInfo): void;
  result(event: ResultEvent): void;
  warning(message: string): void;
  recap(stats: Record<string, HostStats>): void;
}

/** Sends every event to several reporters. */
export function fanOut(reporters: Reporter[]): Reporter {
  return {
    playStart: (name, hosts) => {
      for (const r of reporters) r.playStart(name, hosts);
    },
    taskStart: (task) => {
      for (const r of reporters) r.taskStart(task);
    },
    result: (event) => {
      for (const r of reporters) r.result(event);
    },
    warning: (message) => {
      for (const r of reporters) r.warning(message);
    },
    recap: (stats) => {
      for (const r of reporters) r.recap(stats);
    },
  };
}
