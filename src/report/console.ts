/** Console output in ansible-playbook's shape: PLAY / TASK headers, a line per host, PLAY RECAP. */
import type { FileDiff } from '../modules/types.js';
import type { HostStats, Reporter, ResultEvent, TaskInfo } from './types.js';
import { unifiedDiff } from '../modules/diff.js';

const COLORS = { green: 32, yellow: 33, red: 31, cyan: 36, magenta: 35, gray: 90 } as const;
type Color = keyof typeof COLORS;

export interface ConsoleOptions {
  write: (text: string) => void;
  color: boolean;
  verbosity: number;
  diff: boolean;
}

function banner(title: string): string {
  return `\n${title} ${'*'.repeat(Math.max(3, 79 - title.length))}`;
}

const STATUS_COLOR: Record<string, Color> = { ok: 'green', changed: 'yellow', failed: 'red', unreachable: 'red', skipped: 'cyan' };

/** The result shown after the host: debug output always, everything with -v, the message on failure. */
function details(event: ResultEvent, verbosity: number): string {
  const { changed: _changed, diff: _diff, ansible_loop_var: loopVar, ...rest } = event.result;
  void _changed;
  void _diff;
  // A loop item's result carries the item itself; the line already names it.
  if (typeof loopVar === 'string') delete rest[loopVar];
  if (event.task.module === 'debug' && event.status === 'ok') return ` => ${JSON.stringify(rest, null, 4)}`;
  const failed = event.status === 'failed' || event.status === 'unreachable';
  if (failed && verbosity === 0 && typeof rest.msg === 'string') return ` => ${rest.msg}`;
  if (!failed && verbosity === 0) return '';
  return Object.keys(rest).length ? ` => ${JSON.stringify(rest, null, 4)}` : '';
}

export function consoleReporter(options: ConsoleOptions): Reporter {
  const paint = (color: Color, text: string): string => (options.color ? `\x1b[${COLORS[color]}m${text}\x1b[0m` : text);
  const line = (text: string): void => options.write(`${text}\n`);
  const colorDiff = (text: string): string =>
    options.color ? text.replace(/^([-+@].*)$/gm, (row) => paint(row.startsWith('+') ? 'green' : row.startsWith('-') ? 'red' : 'cyan', row)) : text;

  return {
    playStart(name) {
      line(banner(`PLAY [${name}]`));
    },
    taskStart(task: TaskInfo) {
      const kind = task.handler ? 'RUNNING HANDLER' : 'TASK';
      const name = task.role ? `${task.role} : ${task.name}` : task.name;
      line(banner(`${kind} [${name}]`));
      if (options.verbosity >= 2 && task.pos) line(paint('gray', `task path: ${task.pos.file}:${task.pos.line}`));
    },
    result(event) {
      const status = event.ignored ? 'failed' : event.status;
      const word = status === 'unreachable' ? 'fatal' : status === 'failed' ? 'fatal' : status === 'skipped' ? 'skipping' : status;
      const target = event.delegatedTo ? `[${event.host} -> ${event.delegatedTo}]` : `[${event.host}]`;
      const item =
        event.item !== undefined ? ` => (item=${typeof event.item === 'string' ? event.item : event.item === null ? 'None' : JSON.stringify(event.item)})` : '';
      const reason = status === 'unreachable' ? ': UNREACHABLE!' : status === 'failed' ? ': FAILED!' : '';
      line(paint(STATUS_COLOR[status] ?? 'green', `${word}: ${target}${item}${reason}${details(event, options.verbosity)}`));
      if (event.ignored) line(paint('cyan', '...ignoring'));
      const diffs = event.result.diff as FileDiff[] | undefined;
      if (options.diff && diffs?.length)
        for (const diff of diffs)
          options.write(colorDiff(unifiedDiff(diff.before, diff.after, { fromLabel: `before: ${diff.path}`, toLabel: `after: ${diff.path}` })));
    },
    warning(message) {
      line(paint('magenta', `[WARNING]: ${message}`));
    },
    recap(stats: Record<string, HostStats>) {
      line(banner('PLAY RECAP'));
      const width = Math.max(0, ...Object.keys(stats).map((host) => host.length)) + 1;
      for (const [host, s] of Object.entries(stats)) {
        const color: Color = s.failed || s.unreachable ? 'red' : s.changed ? 'yellow' : 'green';
        const counts = [
          paint(s.ok ? 'green' : 'gray', `ok=${s.ok}`.padEnd(5)),
          paint(s.changed ? 'yellow' : 'gray', `changed=${s.changed}`.padEnd(10)),
          paint(s.unreachable ? 'red' : 'gray', `unreachable=${s.unreachable}`.padEnd(14)),
          paint(s.failed ? 'red' : 'gray', `failed=${s.failed}`.padEnd(9)),
          paint(s.skipped ? 'cyan' : 'gray', `skipped=${s.skipped}`.padEnd(10)),
          paint(s.rescued ? 'green' : 'gray', `rescued=${s.rescued}`.padEnd(10)),
          paint(s.ignored ? 'cyan' : 'gray', `ignored=${s.ignored}`),
        ];
        line(`${paint(color, host.padEnd(width))} : ${counts.join(' ')}`);
      }
      line('');
    },
  };
}
