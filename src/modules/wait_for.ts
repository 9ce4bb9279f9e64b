/**
 * `wait_for`: wait for a port, a file or a regex in a file. The polling loop runs on the
 * host in a single exec, so waiting costs one round trip however long it lasts.
 */
import { z } from 'zod';
import { int, moduleArgs, num, path, str } from './args.js';
import { quote } from '../transport/quote.js';
import { shellPath } from './remote-file.js';
import { defineModule } from '../engine/apply.js';

const waitForArgs = moduleArgs(
  {
    host: str().optional(),
    port: int().pipe(z.number().min(1).max(65535)).optional(),
    path: path().optional(),
    state: z.enum(['started', 'stopped', 'present', 'absent', 'drained']).optional(),
    search_regex: str().optional(),
    // Ansible's are integers; fractions of a second are accepted too.
    timeout: num().pipe(z.number().nonnegative()).optional(),
    delay: num().pipe(z.number().nonnegative()).optional(),
    sleep: num().pipe(z.number().positive()).optional(),
    connect_timeout: int().pipe(z.number().positive()).optional(),
    msg: str().optional(),
  },
  {
    checks: [
      [
        (args) => args.port !== undefined || args.path !== undefined || args.delay !== undefined || args.timeout !== undefined,
        'wait_for needs port, path, delay or timeout',
      ],
    ],
  },
);
type WaitForArgs = z.infer<typeof waitForArgs>;

/** A shell test for "the port accepts connections", with what a bare host has. */
function portOpenTest(host: string, port: number): string {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const local = ['127.0.0.1', 'localhost', '0.0.0.0', '::1', '::'].includes(host);
  const listening = `grep -q '^ *[0-9]*: [0-9A-F]*:${hexPort} [0-9A-F]*:[0-9A-F]* 0A' /proc/net/tcp /proc/net/tcp6 2>/dev/null`;
  const connect =
    `{ command -v bash >/dev/null 2>&1 && timeout 2 bash -c ${quote(`exec 3<>/dev/tcp/${host}/${port}`)} 2>/dev/null; } || ` +
    `{ command -v nc >/dev/null 2>&1 && nc -z -w 2 ${quote(host)} ${port} 2>/dev/null; }`;
  return local ? `{ ${listening} || ${connect}; }` : `{ ${connect}; }`;
}

function conditionScript(args: WaitForArgs): string {
  const state = args.state ?? 'started';
  if (args.path !== undefined) {
    const path = shellPath(args.path);
    if (state === 'absent') return `[ ! -e ${path} ]`;
    if (args.search_regex !== undefined) return `grep -Eq ${quote(args.search_regex)} ${path} 2>/dev/null`;
    return `[ -e ${path} ]`;
  }
  if (args.port !== undefined) {
    const open = portOpenTest(args.host ?? '127.0.0.1', args.port);
    return state === 'stopped' || state === 'drained' ? `! ${open}` : open;
  }
  return 'true';
}

export const waitForModule = defineModule({
  name: 'wait_for',
  schema: waitForArgs,
  // It only waits: there is nothing to change, nor to tell without waiting.
  ahead: 'nothing',
  async act(args, ctx) {
    const timeout = args.timeout ?? 300;
    const sleep = args.sleep ?? 1;
    const started = Date.now();
    const script = `
sleep ${args.delay ?? 0}
end=$(( $(date +%s) + ${Math.ceil(timeout)} ))
while :; do
  if ${conditionScript(args)}; then exit 0; fi
  [ "$(date +%s)" -ge "$end" ] && exit 3
  sleep ${sleep}
done`;
    const result = await ctx.exec(script);
    const elapsed = Math.round((Date.now() - started) / 1000);
    if (result.code === 0) return { changed: false, elapsed, port: args.port, path: args.path, state: args.state ?? 'started' };
    const what = args.path !== undefined ? `file ${args.path}` : args.port !== undefined ? `port ${args.port} on ${args.host ?? '127.0.0.1'}` : 'condition';
    return { changed: false, failed: true, elapsed, msg: args.msg ?? `Timeout when waiting for ${what} to be ${args.state ?? 'started'}` };
  },
});
