/** `--log-file`: structured events (JSON per line) through winston. Results arrive already redacted. */
import winston from 'winston';
import type { Reporter } from './types.js';

export function logFileReporter(file: string): { reporter: Reporter; close: () => Promise<void> } {
  const logger = winston.createLogger({
    level: 'info',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.File({ filename: file })],
  });
  const reporter: Reporter = {
    playStart: (name, hosts) => logger.info('play start', { event: 'play_start', play: name, hosts }),
    taskStart: (task) => logger.info('task start', { event: 'task_start', task: task.name, role: task.role, handler: task.handler ?? false, source: task.pos }),
    result: (event) =>
      logger.log(event.status === 'failed' || event.status === 'unreachable' ? 'error' : 'info', 'task result', {
        event: 'result',
        host: event.host,
        task: event.task.name,
        role: event.task.role,
        status: event.status,
        item: event.item,
        result: event.result,
      }),
    warning: (message) => logger.warn(message, { event: 'warning' }),
    recap: (stats) => logger.info('recap', { event: 'recap', recap: stats }),
  };
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      logger.on('finish', () => resolve());
      logger.end();
    });
  return { reporter, close };
}
