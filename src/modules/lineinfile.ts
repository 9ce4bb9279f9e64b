/** `lineinfile`: ensure one line is present (or absent) in a text file, Ansible's rules. */
import { z } from 'zod';
import { defineModule } from '../engine/apply.js';
import type { ReadContext } from './types.js';
import { bool, mode, moduleArgs, name, path, str } from './args.js';
import { planFile, readPaths, RemoteError, type PathState } from './remote-file.js';

export const lineinfileArgs = moduleArgs(
  {
    path: path(),
    line: str().optional(),
    regexp: name().optional(),
    search_string: name().optional(),
    state: z.enum(['present', 'absent']).default('present'),
    insertafter: name().optional(),
    insertbefore: name().optional(),
    firstmatch: bool().default(false),
    create: bool().default(false),
    backrefs: bool().default(false),
    mode: mode().optional(),
    owner: name().optional(),
    group: name().optional(),
    backup: bool().default(false),
  },
  {
    aliases: { path: ['dest', 'destfile', 'name'], regexp: ['regex'], line: ['value'] },
    checks: [
      [(args) => args.state === 'absent' || args.line !== undefined, 'line is required with state=present'],
      [(args) => !(args.insertafter && args.insertbefore), 'insertafter and insertbefore are mutually exclusive'],
      [(args) => !(args.regexp && args.search_string), 'regexp and search_string are mutually exclusive'],
      [(args) => !args.backrefs || args.regexp, 'regexp is required with backrefs=true'],
      [
        (args) => args.state === 'present' || args.regexp || args.search_string || args.line !== undefined,
        'one of line, regexp or search_string is required with state=absent',
      ],
    ],
  },
);
export type LineinfileArgs = z.infer<typeof lineinfileArgs>;

/** A Python regular expression as a JS one (named groups are the one common difference). */
export function pythonRegex(source: string, what: string): RegExp {
  try {
    return new RegExp(source.replace(/\(\?P<(\w+)>/g, '(?<$1>').replace(/\(\?P=(\w+)\)/g, '\\k<$1>'));
  } catch (error) {
    throw new RemoteError(`${what} '${source}' is not a valid regular expression: ${(error as Error).message}`);
  }
}

/** Python's `match.expand`: \1, \g<1>, \g<name>. */
function expand(template: string, match: RegExpExecArray): string {
  return template.replace(/\\(?:(\d{1,2})|g<(\w+)>)|\\\\/g, (whole, number: string | undefined, group: string | undefined) => {
    if (whole === '\\\\') return '\\';
    const key = number ?? group!;
    const value = /^\d+$/.test(key) ? match[Number(key)] : match.groups?.[key];
    return value ?? '';
  });
}

const strip = (line: string) => line.replace(/[\r\n]+$/, '');

export interface LineEdit {
  content: string;
  changed: boolean;
  msg: string;
  /** state=absent: how many lines were removed. */
  found?: number;
}

/** Ansible's lineinfile algorithm on the file's text (lines keep their endings). */
export function editLines(original: string, args: LineinfileArgs): LineEdit {
  const lines = original.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const matcher = args.regexp ? pythonRegex(args.regexp, 'regexp') : undefined;
  const matches = (line: string): RegExpExecArray | boolean =>
    matcher ? (matcher.exec(strip(line)) ?? false) : args.search_string ? strip(line).includes(args.search_string) : strip(line) === args.line;

  if (args.state === 'absent') {
    const kept = lines.filter((line) => !matches(line));
    const found = lines.length - kept.length;
    return { content: kept.join(''), changed: found > 0, msg: found > 0 ? `${found} line(s) removed` : '', found };
  }

  const line = args.line!;
  const anchor = args.insertafter ?? args.insertbefore;
  const anchorRe = anchor && anchor !== 'EOF' && anchor !== 'BOF' ? pythonRegex(anchor, args.insertafter ? 'insertafter' : 'insertbefore') : undefined;
  let matchIndex = -1;
  let anchorIndex = -1;
  let match: RegExpExecArray | boolean = false;
  for (let i = 0; i < lines.length; i++) {
    const found = matches(lines[i]!);
    if (found) {
      matchIndex = i;
      match = found;
    } else if (anchorRe?.test(strip(lines[i]!))) {
      anchorIndex = args.insertafter ? i + 1 : i;
      if (args.firstmatch) break;
    }
  }
  // A regexp (or search string) that matches nothing, but the exact line is there: nothing to do.
  if (matchIndex === -1 && (matcher || args.search_string) && !args.backrefs) {
    const exact = lines.findIndex((l) => strip(l) === line);
    if (exact !== -1) return { content: original, changed: false, msg: '' };
  }

  const result = [...lines];
  const added = (at: number, text: string): LineEdit => {
    result.splice(at, 0, `${text}\n`);
    return { content: result.join(''), changed: true, msg: 'line added' };
  };
  if (matchIndex !== -1) {
    const newLine = args.backrefs && typeof match !== 'boolean' ? expand(line, match) : line;
    const ending = lines[matchIndex]!.match(/\r?\n$/)?.[0] ?? '\n';
    if (lines[matchIndex] === `${newLine}${ending}`) return { content: original, changed: false, msg: '' };
    result[matchIndex] = `${newLine}${ending}`;
    return { content: result.join(''), changed: true, msg: 'line replaced' };
  }
  if (args.backrefs) return { content: original, changed: false, msg: '' };
  if (args.insertbefore === 'BOF' || args.insertafter === 'BOF') return added(0, line);
  if (args.insertafter === 'EOF' || anchorIndex === -1) {
    if (result.length > 0 && !result[result.length - 1]!.endsWith('\n')) result[result.length - 1] += '\n';
    return added(result.length, line);
  }
  if (args.insertafter) {
    if (anchorIndex < lines.length && strip(lines[anchorIndex]!) === line) return { content: original, changed: false, msg: '' };
    if (anchorIndex > 0 && !result[anchorIndex - 1]!.endsWith('\n')) result[anchorIndex - 1] += '\n';
    return added(anchorIndex, line);
  }
  if (anchorIndex > 0 && strip(lines[anchorIndex - 1]!) === line) return { content: original, changed: false, msg: '' };
  return added(anchorIndex, line);
}

/** Ansible's message when attributes changed too (or only they did). */
export function attributesMessage(msg: string, attributesChanged: boolean): string {
  if (!attributesChanged) return msg;
  return msg ? `${msg} and ownership, perms or SE linux context changed` : 'ownership, perms or SE linux context changed';
}

/** A text file as read for editing; `createdEarlier`: taken as made (empty) by an earlier task. */
export interface EditState {
  file: PathState;
  umask: number;
  createdEarlier?: boolean;
}

/** Read a text file for editing (one exec): its state, or why it cannot be edited. */
export async function readForEdit(ctx: ReadContext, path: string): Promise<EditState> {
  const read = await readPaths(ctx, [{ path, follow: true, content: true }]);
  const state = read.states[0]!;
  if (state.exists && (state.kind === 'directory' || state.targetKind === 'directory')) {
    throw new RemoteError(`path ${path} is a directory, expected a file`);
  }
  if (state.exists && !state.content) throw new RemoteError(`${path} is too large to edit (over 4 MiB) or unreadable`);
  return { file: state, umask: read.umask };
}

/** A file to edit that is missing may be one an earlier task creates: edit it as empty. */
export function assumeCreated(state: EditState): EditState | undefined {
  return state.file.exists ? undefined : { ...state, file: { ...state.file, parentExists: true }, createdEarlier: true };
}

export const lineinfileModule = defineModule({
  name: 'lineinfile',
  schema: lineinfileArgs,
  read: (args, ctx) => readForEdit(ctx, args.path),
  plan(args, { file, umask, createdEarlier }) {
    const path = args.path;
    if (!file.exists) {
      if (args.state === 'absent') return { changed: false, result: { msg: 'file not present', path } };
      if (!args.create && !createdEarlier) return { changed: false, result: { failed: true, msg: `Destination ${path} does not exist !`, path, rc: 257 } };
    }
    const original = file.content?.toString('utf8') ?? '';
    const edit = editLines(original, args);
    const outcome = planFile({
      state: file,
      umask,
      content: Buffer.from(edit.content, 'utf8'),
      attributes: { mode: args.mode, owner: args.owner, group: args.group },
      backup: args.backup,
      backupKey: 'backup',
    });
    const msg = attributesMessage(edit.changed ? edit.msg : '', outcome.attributesChanged);
    const result: Record<string, unknown> = { msg, path };
    if (edit.found !== undefined) result.found = edit.found;
    return { changed: outcome.changed, result, diff: outcome.diff, changes: outcome.changes };
  },
  assume: assumeCreated,
});
