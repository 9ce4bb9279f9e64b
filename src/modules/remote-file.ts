/**
 * What the file modules share: reading the state of remote paths in one exec, planning a
 * file's content and attributes, the atomic write the engine makes of it, modes (octal
 * and symbolic) and ownership.
 *
 * Only POSIX sh and coreutils are assumed on the host. Every value that enters a script
 * goes through `quote`.
 */
import { createHash } from 'node:crypto';
import { quote } from '../transport/quote.js';
import type { Change, FileDiff, ModuleResult, Plan, ReadContext } from './types.js';

/** Files up to this size come back whole (for the diff); larger ones by sha256 only. */
export const CONTENT_LIMIT = 4 * 1024 * 1024;

export type { ModeArg } from './args.js';
import type { ModeArg } from './args.js';

export type PathKind = 'file' | 'directory' | 'link' | 'other';

/** One remote path as the read found it. `kind` is the path itself (a symlink is 'link'). */
export interface PathState {
  path: string;
  exists: boolean;
  kind?: PathKind;
  /** For a symlink: what it points at (file/directory/other), or undefined if dangling. */
  targetKind?: PathKind;
  /** Attributes (of the link target when read with `follow`). */
  mode?: number;
  uid?: number;
  gid?: number;
  owner?: string;
  group?: string;
  size?: number;
  mtime?: number;
  inode?: number;
  device?: number;
  /** Symlinks: the link text, and the fully resolved path. */
  linkText?: string;
  linkResolved?: string;
  /** Whether the directory holding the path exists. */
  parentExists: boolean;
  /** Regular files (following links) when asked: the bytes up to CONTENT_LIMIT... */
  content?: Buffer;
  /** ...or, above it, only the sha256. */
  sha256?: string;
  sha1?: string;
}

export interface ProbeRequest {
  path: string;
  /** Attributes of the link target rather than of the link (stat -L). */
  follow?: boolean;
  /** Return the content of a regular file (or its sha256 when large). */
  content?: boolean;
  /** Return the sha1 of a regular file (stat's checksum). */
  sha1?: boolean;
}

export interface RemoteRead {
  states: PathState[];
  /** The umask the write will run under, for the mode of new files. */
  umask: number;
  /** What the caller's extra script printed (see `readPaths`). */
  extra: string;
}

/**
 * A remote path as a shell word. Ansible expands a leading `~` or `~user` of a path
 * argument (type=path) where the module runs, on the host, as the user it runs as: so the
 * tilde prefix is left for the host's shell to expand and only the rest is quoted.
 */
export function shellPath(path: string): string {
  const tilde = /^~([A-Za-z0-9._-]*)(\/.*)?$/s.exec(path);
  if (!tilde) return quote(path);
  return `~${tilde[1]}${tilde[2] ? `/${quote(tilde[2].slice(1))}` : ''}`;
}

/** The size comes first so that the script can test it with parameter expansion alone. */
const STAT_FORMAT = '%s|%a|%u|%g|%U|%G|%Y|%i|%d';

/**
 * The shell that reads one path. Every process a read starts costs about a millisecond
 * per host (fork and exec), which is most of a no-op task's time: so tests are builtins,
 * `dirname` is computed here, readlink and the checksums print straight into the reply,
 * and one stat (captured, as the content's size comes from it too) is the only process
 * in the common case, plus base64 when the content is wanted.
 */
function probeSection(request: ProbeRequest): string {
  const statFlag = request.follow ? '-L ' : '';
  const lines = [
    `__tsrun_p=${shellPath(request.path)}`,
    `echo @@state`,
    // The host expanded a `~`: report the path it stands for.
    ...(request.path.startsWith('~') ? [`printf path=; printf %s "$__tsrun_p" | base64 -w 0; echo`] : []),
    // The path itself first; for a link also what it points at.
    // A link's text and resolved path may hold any byte but NUL (newlines, '=', '@@end'):
    // they come NUL-terminated and base64-encoded, so nothing in them can be read as a line.
    `if [ -L "$__tsrun_p" ]; then echo kind=link; printf link=; { readlink -z -- "$__tsrun_p"; readlink -fz -- "$__tsrun_p"; } | base64 -w 0; echo; fi`,
    `if [ -d "$__tsrun_p" ]; then __tsrun_k=directory; elif [ -f "$__tsrun_p" ]; then __tsrun_k=file; elif [ -e "$__tsrun_p" ]; then __tsrun_k=other; else __tsrun_k=; fi`,
    `if [ -n "$__tsrun_k" ]; then echo "target=$__tsrun_k"; fi`,
    `__tsrun_s=`,
    `if [ -n "$__tsrun_k" ] || [ -L "$__tsrun_p" ]; then __tsrun_s=$(stat ${statFlag}-c '${STAT_FORMAT}' -- "$__tsrun_p" 2>/dev/null); echo "stat=$__tsrun_s"; fi`,
    request.path.startsWith('~')
      ? `if [ -d "$(dirname -- "$__tsrun_p")" ]; then echo parent=1; fi`
      : `if [ -d ${quote(remoteDirname(request.path))} ]; then echo parent=1; fi`,
  ];
  const followsToFile = request.follow ? `[ "$__tsrun_k" = file ]` : `[ "$__tsrun_k" = file ] && [ ! -L "$__tsrun_p" ]`;
  if (request.sha1) {
    lines.push(`if ${followsToFile}; then printf sha1=; sha1sum < "$__tsrun_p" || echo; fi`);
  }
  if (request.content) {
    // The content follows the link: that is what a copy or an edit compares against.
    const targetSize = request.follow ? '' : `if [ -L "$__tsrun_p" ]; then __tsrun_s=$(stat -L -c %s -- "$__tsrun_p" 2>/dev/null); fi; `;
    lines.push(
      `if [ "$__tsrun_k" = file ]; then ${targetSize}`,
      `  if [ "\${__tsrun_s%%|*}" -le ${CONTENT_LIMIT} ] 2>/dev/null; then echo content; base64 < "$__tsrun_p" || echo unreadable; `,
      `  else printf sha256=; sha256sum < "$__tsrun_p" || echo; fi`,
      `fi`,
    );
  }
  lines.push('echo @@end');
  return lines.join('\n');
}

function parseSection(path: string, text: string): PathState {
  const state: PathState = { path, exists: false, parentExists: false };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === 'content') {
      const encoded = lines.slice(i + 1).join('');
      state.content = Buffer.from(encoded, 'base64');
      break;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    switch (key) {
      case 'path':
        state.path = Buffer.from(value, 'base64').toString('utf8');
        break;
      case 'kind':
        state.kind = 'link';
        break;
      case 'link': {
        const [text, resolved] = Buffer.from(value, 'base64').toString('utf8').split('\0');
        state.linkText = text || undefined;
        state.linkResolved = resolved || undefined;
        break;
      }
      case 'target':
        if (state.kind === 'link') state.targetKind = value as PathKind;
        else state.kind = value as PathKind;
        break;
      case 'stat': {
        const [size, mode, uid, gid, owner, group, mtime, inode, device] = value.split('|');
        if (mode) {
          state.mode = parseInt(mode, 8);
          state.uid = Number(uid);
          state.gid = Number(gid);
          state.owner = owner;
          state.group = group;
          state.size = Number(size);
          state.mtime = Number(mtime);
          state.inode = Number(inode);
          state.device = Number(device);
        }
        break;
      }
      case 'parent':
        state.parentExists = true;
        break;
      case 'sha1':
        state.sha1 = value.split(' ')[0] || undefined;
        break;
      case 'sha256':
        state.sha256 = value.split(' ')[0] || undefined;
        break;
    }
  }
  state.exists = state.kind !== undefined;
  return state;
}

/** Read the state of several paths in ONE exec; `extra` is more reading in the same exec. */
export async function readPaths(ctx: ReadContext, requests: ProbeRequest[], extra?: string): Promise<RemoteRead> {
  const script = [
    'printf umask=; umask',
    ...requests.map(probeSection),
    ...(extra ? ['echo @@extra', extra] : []),
    // The script may run in the connection's own shell: leave no variables to later tasks.
    'unset __tsrun_p __tsrun_k __tsrun_s',
  ].join('\n');
  const result = await ctx.exec(script, { inShell: true });
  if (result.code !== 0) {
    throw new RemoteError(`reading ${requests.map((r) => r.path).join(', ')} failed: ${firstLine(result.stderr) || `exit ${result.code}`}`);
  }
  const umaskMatch = /^umask=(\d+)/m.exec(result.stdout);
  const [reply, extraOutput] = splitOnce(result.stdout, '@@extra\n');
  const sections = reply.split('@@state\n').slice(1);
  if (sections.length !== requests.length) throw new RemoteError(`unexpected reply while reading ${requests[0]?.path}`);
  const states = sections.map((section, index) => parseSection(requests[index]!.path, section.split('@@end')[0]!));
  return { states, umask: umaskMatch ? parseInt(umaskMatch[1]!, 8) : 0o022, extra: extraOutput };
}

function splitOnce(text: string, marker: string): [string, string] {
  const at = text.indexOf(marker);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + marker.length)];
}

/** A failure reading or writing on the host, reported as the task's `msg`. */
export class RemoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteError';
  }
}

export function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

export function failed(msg: string, extra: Record<string, unknown> = {}): ModuleResult {
  return { changed: false, failed: true, msg, ...extra };
}

/** A plan that fails the task with `msg`. */
export function failure(msg: string, extra: Record<string, unknown> = {}): Plan {
  return { changed: false, result: { failed: true, msg, ...extra } };
}

// ---------------------------------------------------------------- modes

export class ModeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModeError';
  }
}

/** '0644', 0o7777 and the like as Ansible prints them. */
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * The numeric mode `spec` asks for, given the current mode (symbolic modes are relative).
 *
 * A number is the mode itself, as in Ansible: YAML 1.1 loads an unquoted `0644` as octal
 * (420), and an unquoted `644` is decimal 644. Strings are read as octal digits, as
 * Python's int(mode, 8) reads them, or else as symbolic modes.
 */
export function resolveMode(spec: ModeArg, current: number, isDirectory: boolean): number {
  if (typeof spec === 'number') {
    return spec & 0o7777;
  }
  // Ansible tries int(mode, 8) first: '644', '0644', '0o644', ' 0755 '.
  const text = spec.trim();
  const octal = /^[+]?(?:0o)?([0-7]+(?:_[0-7]+)*)$/i.exec(text);
  if (octal) return parseInt(octal[1]!.replace(/_/g, ''), 8) & 0o7777;
  return applySymbolic(text, current & 0o7777, isDirectory);
}

const WHO_SHIFT = { u: 6, g: 3, o: 0 } as const;
const WHO_SPECIAL = { u: 0o4000, g: 0o2000, o: 0o1000 } as const;

function applySymbolic(spec: string, current: number, isDirectory: boolean): number {
  let mode = current;
  for (const clause of spec.split(',')) {
    const match = /^([ugoa]*)((?:[-+=][rwxXst]*)+)$/.exec(clause);
    if (!match) {
      throw new ModeError(`mode '${spec}' is not valid: expected octal like '0644' or symbolic like 'u=rw,g=r,o=r'`);
    }
    const whoText = match[1]!.replace('a', 'ugo') || 'ugo';
    const who = [...new Set(whoText.split(''))] as Array<keyof typeof WHO_SHIFT>;
    for (const op of match[2]!.match(/[-+=][rwxXst]*/g)!) {
      const perms = op.slice(1);
      for (const w of who) {
        let bits = 0;
        if (perms.includes('r')) bits |= 4 << WHO_SHIFT[w];
        if (perms.includes('w')) bits |= 2 << WHO_SHIFT[w];
        if (perms.includes('x') || (perms.includes('X') && (isDirectory || (current & 0o111) !== 0))) bits |= 1 << WHO_SHIFT[w];
        if (perms.includes('s') && w !== 'o') bits |= WHO_SPECIAL[w];
        if (perms.includes('t') && w === 'o') bits |= WHO_SPECIAL.o;
        if (op[0] === '=') mode &= ~((7 << WHO_SHIFT[w]) | (w === 'o' ? 0 : WHO_SPECIAL[w]));
        mode = op[0] === '-' ? mode & ~bits : mode | bits;
      }
    }
  }
  return mode;
}

// ---------------------------------------------------------------- attributes

export interface Attributes {
  mode?: ModeArg;
  owner?: string;
  group?: string;
}

/** What the attributes of an existing path will be, and the before/after lines that differ. */
export interface AttributeChange {
  mode?: number;
  changes: Array<{ name: 'mode' | 'owner' | 'group'; before: string; after: string }>;
}

function matchesId(wanted: string, id: number | undefined, name: string | undefined): boolean {
  return /^\d+$/.test(wanted) ? Number(wanted) === id : wanted === name;
}

/** Compare the requested attributes with a path's current ones. */
export function attributeChanges(state: PathState, wanted: Attributes, isDirectory: boolean): AttributeChange {
  const changes: AttributeChange['changes'] = [];
  let mode: number | undefined;
  if (wanted.mode !== undefined) {
    mode = resolveMode(wanted.mode, state.mode ?? 0, isDirectory);
    if (state.mode === undefined || (state.mode & 0o7777) !== mode) {
      changes.push({ name: 'mode', before: formatMode((state.mode ?? 0) & 0o7777), after: formatMode(mode) });
    }
  }
  if (wanted.owner !== undefined && !matchesId(wanted.owner, state.uid, state.owner)) {
    changes.push({ name: 'owner', before: state.owner ?? String(state.uid), after: wanted.owner });
  }
  if (wanted.group !== undefined && !matchesId(wanted.group, state.gid, state.group)) {
    changes.push({ name: 'group', before: state.group ?? String(state.gid), after: wanted.group });
  }
  return { mode, changes };
}

/** A short before/after text for attribute and state changes (`mode: 0644` -> `mode: 0600`). */
export function attributeDiff(path: string, changes: AttributeChange['changes']): FileDiff {
  return {
    path,
    before: changes.map((c) => `${c.name}: ${c.before}\n`).join(''),
    after: changes.map((c) => `${c.name}: ${c.after}\n`).join(''),
  };
}

/** `chown` / `chmod` commands on "$target" for the requested attributes. */
export function attributeCommands(
  target: string,
  mode: number | undefined,
  owner: string | undefined,
  group: string | undefined,
  noDereference = false,
): string[] {
  const commands: string[] = [];
  if (owner !== undefined || group !== undefined) {
    const spec = `${owner ?? ''}${group !== undefined ? `:${group}` : ''}`;
    commands.push(`chown ${noDereference ? '-h ' : ''}-- ${quote(spec)} ${target} || exit 1`);
  }
  if (mode !== undefined) commands.push(`chmod -- ${formatMode(mode)} ${target} || exit 1`);
  return commands;
}

// ---------------------------------------------------------------- writing

export interface WriteRequest {
  path: string;
  content: Buffer;
  mode: number;
  /** Requested ownership; when absent, the old file's uid/gid are kept where permitted. */
  owner?: string;
  group?: string;
  keepIds?: { uid: number; gid: number };
  backup: boolean;
  /** The backup is named after this path (the link when writing through one); default `path`. */
  backupName?: string;
  /** `dest/` given and its directory missing: create it first (Ansible's copy does). */
  makeParent?: boolean;
}

/**
 * Where the temp files of writes to `path` go: beside it (a rename stays on one file
 * system), hidden, and named after it, `.NAME.tsrun-tmp-PID-XXXXXX`: PID is `$$` of the
 * shell running the write (for a subshell of the connection's shell, that shell's), XXXXXX
 * mktemp's random part (`symlnk` or `hardln` for the links the file module makes). A very
 * long name is replaced by its hash, so that the temp name stays within NAME_MAX.
 */
export function tempPrefix(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  const name = trimmed.slice(slash + 1);
  const short = Buffer.byteLength(name) <= 200 ? name : sha1(name).slice(0, 16);
  return `${trimmed.slice(0, slash + 1)}.${short}.tsrun-tmp-`;
}

/**
 * Remove the temp files a killed write of the same destination left behind (the host
 * died, or the writer got SIGKILL): those whose writing shell is gone. A write holds no
 * lock, so a temp file whose PID still runs may be a concurrent run's write in progress
 * and is left alone (a PID reused after a reboot only delays the clean-up to a later
 * write). Builtins only: no process is started unless there is something to remove.
 */
export function staleTempCleanup(prefix: string): string[] {
  return [
    `pre=${quote(prefix)}`,
    `for old in "$pre"[0-9]*; do`,
    // Exactly PID-RANDOM after the prefix: anything longer is another destination's.
    `  rest=\${old#"$pre"}`,
    `  case $rest in *[!0-9A-Za-z-]*|*-*-*) continue ;; [0-9]*-??????) ;; *) continue ;; esac`,
    `  pid=\${rest%-*}`,
    `  case $pid in *[!0-9]*) continue ;; esac`,
    `  kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ] || rm -f -- "$old"`,
    `done`,
  ];
}

/** The atomic write: temp file beside the destination, attributes, backup, rename. */
export function writeScript(request: WriteRequest): string {
  const prefix = tempPrefix(request.path);
  const lines = [
    `dest=${quote(request.path)}`,
    `tmp=`,
    // Whatever happens, no temp file is left behind and the destination stays as it was;
    // only SIGKILL (or the host dying) can leave one, for the next write to remove.
    `trap 'if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi' EXIT`,
    `trap 'exit 1' HUP INT TERM`,
  ];
  if (request.makeParent) lines.push(`mkdir -p -- "$(dirname -- "$dest")" || exit 1`);
  lines.push(...staleTempCleanup(prefix));
  lines.push(`tmp=$(mktemp -- ${quote(prefix)}"$$-XXXXXX") || exit 1`, `cat > "$tmp" || exit 1`);
  if (request.owner !== undefined || request.group !== undefined) {
    lines.push(...attributeCommands('"$tmp"', undefined, request.owner, request.group));
  } else if (request.keepIds) {
    // Not asked for: keep the old owner if we may (as root), otherwise stay as we are.
    lines.push(`chown -- ${request.keepIds.uid}:${request.keepIds.gid} "$tmp" 2>/dev/null || :`);
  }
  lines.push(`chmod -- ${formatMode(request.mode)} "$tmp" || exit 1`);
  if (request.backup) {
    lines.push(
      // Only the stamp is printed: the path may hold a newline.
      `if [ -e "$dest" ]; then`,
      `  stamp="$$.$(date +%Y-%m-%d@%H:%M:%S)~"`,
      `  cp -p -- "$dest" ${quote(request.backupName ?? request.path)}".$stamp" || exit 1`,
      `  printf 'backup=%s\\n' "$stamp"`,
      `fi`,
    );
  }
  lines.push(`mv -f -- "$tmp" "$dest" || exit 1`, `tmp=`);
  return lines.join('\n');
}

/** Write a file atomically in ONE exec; returns the backup path when one was made. */
export async function writeFile(ctx: ReadContext, request: WriteRequest): Promise<{ backupFile?: string }> {
  const result = await ctx.exec(writeScript(request), { stdin: request.content });
  if (result.code !== 0) {
    throw new RemoteError(`writing ${request.path} failed: ${firstLine(result.stderr) || `exit ${result.code}`}`);
  }
  const stamp = /^backup=(.*)$/m.exec(result.stdout);
  return stamp ? { backupFile: `${request.backupName ?? request.path}.${stamp[1]}` } : {};
}

/** The mode a new file gets when none is asked for: 0666 under the host's umask. */
export function defaultFileMode(umask: number): number {
  return 0o666 & ~umask;
}

export function sha1(content: Buffer | string): string {
  return createHash('sha1').update(content).digest('hex');
}

export function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Content shown in a diff: text as is; binary or unknown content as a short note. */
export function diffText(content: Buffer | undefined, note = '(content not shown)'): string {
  if (!content) return note;
  if (content.includes(0)) return '(binary content)';
  return content.toString('utf8');
}

/** Directory part of a remote path, as `dirname` would print it. */
export function remoteDirname(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  if (slash < 0) return '.';
  return slash === 0 ? '/' : trimmed.slice(0, slash);
}

export function remoteJoin(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

// ---------------------------------------------------------------- converging a file

export interface FileTarget {
  /** The remote path and its state as read (with follow and content). */
  state: PathState;
  umask: number;
  content: Buffer;
  attributes: Attributes;
  backup: boolean;
  /** false: an existing file keeps its content (copy's `force: no`); attributes still apply. */
  force?: boolean;
  makeParent?: boolean;
  /**
   * A symlink at the path: 'replace' it by a regular file, even one holding the content
   * already (Ansible's copy and template, follow: no); 'follow' it and write the file it
   * resolves to (lineinfile, blockinfile, copy with follow: yes). Default 'follow'.
   */
  links?: 'replace' | 'follow';
  /** The result key naming a backup made (copy: backup_file; lineinfile: backup). */
  backupKey?: string;
}

export interface FileOutcome {
  /** The file written or compared: the path, or with links followed what it resolves to. */
  path: string;
  changed: boolean;
  contentChanged: boolean;
  attributesChanged: boolean;
  mode: number;
  diff: FileDiff[];
  /** The write (or the attribute change) that makes it so; none when nothing changes. */
  changes: Change[];
}

function sameContent(state: PathState, content: Buffer): boolean {
  if (!state.exists) return false;
  if (state.content) return state.content.equals(content);
  if (state.sha256) return state.sha256 === sha256(content);
  return false;
}

/**
 * Plan one file's content and attributes: compare with what the read returned; the change
 * is one atomic write, or one chmod/chown when only attributes differ.
 */
export function planFile(target: FileTarget): FileOutcome {
  const { state, content } = target;
  // Replacing a link makes a new file: the link's target is neither compared nor changed.
  const replaceLink = state.kind === 'link' && target.links === 'replace' && target.force !== false;
  const path = state.kind === 'link' && !replaceLink && state.linkResolved ? state.linkResolved : state.path;
  if (state.exists && (state.kind === 'directory' || state.targetKind === 'directory')) {
    throw new RemoteError(`path ${path} is a directory, expected a file`);
  }
  if (!replaceLink && state.exists && state.kind !== 'file' && state.targetKind !== 'file' && !(state.kind === 'link' && !state.targetKind)) {
    throw new RemoteError(`path ${path} exists and is not a regular file`);
  }
  if (!state.exists && !state.parentExists && !target.makeParent) {
    throw new RemoteError(`dest directory ${remoteDirname(path)} does not exist`);
  }
  const existing = state.exists && state.mode !== undefined && !replaceLink;
  const contentChanged = replaceLink || (target.force === false && state.exists ? false : !sameContent(state, content));
  const attributes = existing ? attributeChanges(state, target.attributes, false) : { changes: [] };
  const mode =
    target.attributes.mode !== undefined
      ? resolveMode(target.attributes.mode, existing ? state.mode! : defaultFileMode(target.umask), false)
      : existing
        ? state.mode! & 0o7777
        : defaultFileMode(target.umask);

  const diff: FileDiff[] = [];
  if (contentChanged) diff.push({ path, before: state.exists ? diffText(state.content) : '', after: diffText(content) });
  if (attributes.changes.length > 0) diff.push(attributeDiff(path, attributes.changes));
  const changes: Change[] = [];
  if (contentChanged) {
    changes.push({
      write: {
        path,
        content,
        mode,
        owner: target.attributes.owner,
        group: target.attributes.group,
        keepIds: existing ? { uid: state.uid!, gid: state.gid! } : undefined,
        backup: target.backup,
        backupName: state.path,
        makeParent: target.makeParent,
      },
      backupKey: target.backupKey,
    });
  } else if (attributes.changes.length > 0) {
    changes.push(attributeChange(path, attributes, target.attributes));
  }
  const changed = contentChanged || attributes.changes.length > 0;
  return { path, changed, contentChanged, attributesChanged: attributes.changes.length > 0, mode, diff, changes };
}

/** The one exec that applies only the attributes that differ. */
export function attributeChange(path: string, change: AttributeChange, wanted: Attributes, noDereference = false): Change {
  const differs = (name: string) => change.changes.some((c) => c.name === name);
  const script = [
    `p=${quote(path)}`,
    ...attributeCommands(
      '"$p"',
      differs('mode') ? change.mode : undefined,
      differs('owner') ? wanted.owner : undefined,
      differs('group') ? wanted.group : undefined,
      noDereference,
    ),
  ].join('\n');
  return { run: script, error: (result) => `changing attributes of ${path} failed: ${firstLine(result.stderr) || `exit ${result.code}`}` };
}

/** A state read, as it is once an earlier task made the directory holding the path. */
export function withParent(state: PathState): PathState | undefined {
  return !state.exists && !state.parentExists ? { ...state, parentExists: true } : undefined;
}
