/**
 * `command` and `shell`: run a program on the host. What it changes is only known by
 * running it. `creates`/`removes` are checked in the same round trip as the command
 * itself, so a skipped command costs one exec, not two.
 */
import type { z } from 'zod';
import { bool, list, moduleArgs, path, str } from './args.js';
import { command as quoteWords } from '../transport/quote.js';
import { shellPath } from './remote-file.js';
import { defineModule } from '../engine/apply.js';
import type { ModuleResult, ReadContext } from './types.js';

const commandArgs = moduleArgs({
  _raw: str().optional(),
  cmd: str().optional(),
  argv: list(str()).optional(),
  creates: path().optional(),
  removes: path().optional(),
  chdir: path().optional(),
  stdin: str().optional(),
  stdin_add_newline: bool().default(true),
  executable: str().optional(),
  strip_empty_ends: bool().default(true),
});
type CommandArgs = z.infer<typeof commandArgs>;

/** Split a command line into words, honouring quotes (no shell features: `command` has none). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quoteChar: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoteChar) {
      if (c === quoteChar) quoteChar = null;
      else if (c === '\\' && quoteChar === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quoteChar = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

const SKIP_MARK = '__tsrun_skip__';

function guardsOf(args: CommandArgs): string[] {
  const guards: string[] = [];
  if (args.creates) guards.push(`if [ -e ${shellPath(args.creates)} ]; then echo ${SKIP_MARK}creates; exit 0; fi`);
  if (args.removes) guards.push(`if [ ! -e ${shellPath(args.removes)} ]; then echo ${SKIP_MARK}removes; exit 0; fi`);
  return guards;
}

async function runCommand(args: CommandArgs, ctx: ReadContext, useShell: boolean): Promise<ModuleResult> {
  const text = args.cmd ?? args._raw;
  let program: string;
  if (args.argv) program = quoteWords(...args.argv);
  else if (text === undefined || text.trim() === '') return { changed: false, failed: true, msg: 'no command given' };
  else if (useShell) program = args.executable ? quoteWords(args.executable, '-c', text) : text;
  else program = quoteWords(...splitWords(text));

  // creates/removes are checked in the same exec as the command itself.
  const guards = guardsOf(args);
  const chdir = args.chdir ? `cd ${shellPath(args.chdir)} || exit 1\n` : '';
  const body = useShell && !args.argv && !args.executable ? `${chdir}${program}` : `${chdir}exec ${program}`;
  const script = guards.length ? `${guards.join('\n')}\n${body}` : body;
  const started = Date.now();
  const result = await ctx.exec(script, args.stdin !== undefined ? { stdin: args.stdin_add_newline ? `${args.stdin}\n` : args.stdin } : undefined);
  if (guards.length && result.code === 0 && result.stdout.startsWith(SKIP_MARK)) {
    return { changed: false, rc: 0, stdout: '', stderr: '', msg: skipMessage(args, result.stdout) };
  }
  const strip = args.strip_empty_ends;
  const stdout = strip ? result.stdout.replace(/\n+$/, '') : result.stdout;
  const stderr = strip ? result.stderr.replace(/\n+$/, '') : result.stderr;
  return {
    changed: true,
    failed: result.code !== 0,
    rc: result.code,
    stdout,
    stderr,
    stdout_lines: stdout === '' ? [] : stdout.split('\n'),
    stderr_lines: stderr === '' ? [] : stderr.split('\n'),
    cmd: text ?? args.argv,
    delta: `${((Date.now() - started) / 1000).toFixed(3)}s`,
    ...(result.code !== 0 ? { msg: `non-zero return code ${result.code}` } : {}),
  };
}

/** Without running the command: creates/removes tell whether it would run at all. */
async function ahead(args: CommandArgs, ctx: ReadContext): Promise<ModuleResult | 'changes'> {
  const guards = guardsOf(args);
  if (guards.length === 0) return 'changes';
  const result = await ctx.exec(`${guards.join('\n')}\necho run`);
  return result.stdout.startsWith(SKIP_MARK) ? { changed: false, rc: 0, msg: skipMessage(args, result.stdout) } : 'changes';
}

function skipMessage(args: CommandArgs, stdout: string): string {
  return stdout.startsWith(`${SKIP_MARK}creates`) ? `skipped, since ${args.creates} exists` : `skipped, since ${args.removes} does not exist`;
}

export const commandModule = defineModule({
  name: 'command',
  schema: commandArgs,
  freeForm: true,
  act: (args, ctx) => runCommand(args, ctx, false),
  ahead,
});

export const shellModule = defineModule({
  name: 'shell',
  schema: commandArgs,
  freeForm: true,
  act: (args, ctx) => runCommand(args, ctx, true),
  ahead,
});
