/** `--output json`: one JSON object per task result on stdout, then the recap. */
import type { Reporter } from './types.js';

export function jsonLinesReporter(write: (text: string) => void): Reporter {
  const emit = (object: unknown): void => write(`${JSON.stringify(object)}\n`);
  return {
    playStart: () => undefined,
    taskStart: () => undefined,
    result(event) {
      emit({
        host: event.host,
        task: event.task.role ? `${event.task.role} : ${event.task.name}` : event.task.name,
        status: event.status,
        changed: event.result.changed === true,
        ...(event.item !== undefined ? { item: event.item } : {}),
        ...(event.delegatedTo ? { delegated_to: event.delegatedTo } : {}),
        ...(event.ignored ? { ignored: true } : {}),
        ...(event.task.handler ? { handler: true } : {}),
        ...(event.task.pos ? { source: `${event.task.pos.file}:${event.task.pos.line}:${event.task.pos.col}` } : {}),
        result: event.result,
      });
    },
    warning: () => undefined,
    recap(stats) {
      emit({ recap: stats });
    },
  };
}
