/**
 * Host key checking against an OpenSSH known_hosts file, deciding as OpenSSH's ssh does
 * (hostfile.c, sshconnect.c check_host_key); test/integration/known-hosts.test.ts checks
 * every form below against the real ssh.
 *
 * A line is `[@marker] hosts keytype base64 [comment]`. Supported forms:
 * - hosts: a comma list of names matched case-insensitively, with `*` and `?` wildcards and
 *   `!pattern` negation (a matching negated pattern excludes the line whatever else
 *   matches), or one hashed name `|1|salt|hash` (ssh-keygen -H; never a list or pattern);
 * - `[host]:port` names a host on a port other than 22. When no line matches that name at
 *   all, a line for the bare `host` holding the very key is accepted too (ssh's "checking
 *   without port identifier"); anything else found that way leaves the host new;
 * - `@revoked`: the key is refused for the hosts the line matches, wherever the line is;
 * - `@cert-authority`: host certificates cannot be checked here (ssh2 does not negotiate
 *   them), so a host known only through a CA line is refused with that reason rather than
 *   treated as new.
 * Blank lines, `#` comments, leading whitespace and trailing comments are allowed. A line
 * that does not parse (unknown marker or key type, bad base64, bad hash) is skipped, as
 * ssh skips it.
 *
 * Verdicts: a line for the host with the key trusts it; a revoked key is refused even then;
 * lines for the host holding other keys only (of any type, as in ssh) mean the key changed
 * and are refused in every mode; no line at all means a new host, refused by `strict` and
 * recorded (lowercased) by `accept-new`. Host names are looked up lowercased, as ssh does.
 * Like ssh, the transport asks first for the key types the file holds for the host
 * (hostKeyAlgorithms), so the server shows a key a line can vouch for.
 */
import { createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type HostKeyChecking = 'strict' | 'accept-new' | 'off';
export type HostKeyVerdict = 'match' | 'mismatch' | 'unknown' | 'revoked' | 'cert-authority';

export interface KnownHostsEntry {
  line: number;
  marker?: '@revoked' | '@cert-authority';
  hosts: string;
  keyType: string;
  key: Buffer;
}

export interface HostKeyCheck {
  verdict: HostKeyVerdict;
  /** The line that decided: the matching, revoked, changed or CA entry. */
  entry?: KnownHostsEntry;
  /** For a new [host]:port, the line revoking the key for the bare host (ssh warns of it). */
  revokedBare?: { name: string; entry: KnownHostsEntry };
}

/** The name known_hosts uses for a host: `addr` on port 22, `[addr]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Reads the length-prefixed strings of an SSH wire blob; undefined unless they fill it exactly. */
function wireStrings(blob: Buffer): Buffer[] | undefined {
  const strings: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    if (at + 4 > blob.length) return undefined;
    const length = blob.readUInt32BE(at);
    if (at + 4 + length > blob.length) return undefined;
    strings.push(blob.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return strings;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOf(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('ascii');
}

// Number of wire strings of each plain public key type ssh reads from known_hosts.
const KEY_FIELDS: Record<string, number> = {
  'ssh-ed25519': 2,
  'ssh-rsa': 3,
  'ssh-dss': 5,
  'ecdsa-sha2-nistp256': 3,
  'ecdsa-sha2-nistp384': 3,
  'ecdsa-sha2-nistp521': 3,
  'sk-ssh-ed25519@openssh.com': 3,
  'sk-ecdsa-sha2-nistp256@openssh.com': 4,
};

/** The key of a `keytype base64` pair when it is well formed (ssh's sshkey_read), else undefined. */
function readKey(keyType: string, base64: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 === 1) return undefined;
  const blob = Buffer.from(base64, 'base64');
  const strings = wireStrings(blob);
  if (!strings || strings[0]?.toString('latin1') !== keyType) return undefined;
  if (keyType.endsWith('-cert-v01@openssh.com')) return blob;
  if (strings.length !== KEY_FIELDS[keyType]) return undefined;
  if (keyType === 'ssh-ed25519' && strings[1]!.length !== 32) return undefined;
  if (keyType.startsWith('ecdsa-sha2-') && strings[1]!.toString('latin1') !== keyType.slice('ecdsa-sha2-'.length)) return undefined;
  return blob;
}

/** The well-formed entries of a known_hosts text; lines that do not parse are left out. */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split('\n').forEach((rawLine, index) => {
    const fields = rawLine
      .replace(/\r$/, '')
      .split(/[ \t]+/)
      .filter(Boolean);
    if (!fields.length || fields[0]!.startsWith('#')) return;
    let marker: KnownHostsEntry['marker'];
    if (fields[0]!.startsWith('@')) {
      const name = fields.shift()!;
      if (name !== '@revoked' && name !== '@cert-authority') return;
      marker = name;
    }
    const [hosts, keyType, base64] = fields;
    if (!hosts || hosts.startsWith('@') || !keyType || keyType.startsWith('#') || !base64) return;
    const key = readKey(keyType, base64);
    if (key) entries.push({ line: index + 1, marker, hosts, keyType, key });
  });
  return entries;
}

/** OpenSSH's match_pattern: `*` any run, `?` any one character, everything else literal. */
function globMatches(pattern: string, name: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^]*')
      .replace(/\?/g, '[^]')}$`,
  );
  return regex.test(name);
}

/** Whether a line's host field covers `name` (already lowercased, as ssh lowercases it). */
function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) {
    const hashed = /^\|1\|([^|]+)\|(.*)$/.exec(field);
    const salt = hashed && Buffer.from(hashed[1]!, 'base64');
    if (!hashed || salt!.length !== 20) return false;
    return `|1|${salt!.toString('base64')}|${createHmac('sha1', salt!).update(name).digest('base64')}` === field;
  }
  let positive = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches((negated ? pattern.slice(1) : pattern).toLowerCase(), name)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** The entries whose host field covers `name` (ssh-keygen -F's lines, among well-formed ones). */
export function entriesFor(entries: KnownHostsEntry[], name: string): KnownHostsEntry[] {
  const lookup = name.toLowerCase();
  return entries.filter((entry) => hostFieldMatches(entry.hosts, lookup));
}

/** check_key_in_hostkeys: the verdict of the lines covering `name`, CA lines reported apart. */
function checkName(entries: KnownHostsEntry[], name: string, blob: Buffer): HostKeyCheck {
  const lines = entriesFor(entries, name);
  const revoked = lines.find((entry) => entry.marker === '@revoked' && entry.key.equals(blob));
  if (revoked) return { verdict: 'revoked', entry: revoked };
  const plain = lines.filter((entry) => !entry.marker);
  const match = plain.find((entry) => entry.key.equals(blob));
  if (match) return { verdict: 'match', entry: match };
  if (plain.length) return { verdict: 'mismatch', entry: plain[plain.length - 1] };
  const authority = lines.find((entry) => entry.marker === '@cert-authority');
  return authority ? { verdict: 'cert-authority', entry: authority } : { verdict: 'unknown' };
}

/** The entries of `file`, none when it does not exist; throws a clear error when it cannot be read. */
function readEntries(file: string): KnownHostsEntry[] {
  try {
    return parseKnownHosts(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new Error(`cannot read known_hosts file ${file}: ${code ?? (error as Error).message}`);
  }
}

/** What `file` says about `blob` as the host key of `name` (a knownHostsName). */
export function checkHostKey(file: string, name: string, blob: Buffer): HostKeyCheck {
  const entries = readEntries(file);
  const lookup = name.toLowerCase();
  const found = checkName(entries, lookup, blob);
  const bare = /^\[(.+)\]:(\d+)$/.exec(lookup)?.[1];
  if (bare === undefined || (found.verdict !== 'unknown' && found.verdict !== 'cert-authority')) return found;
  // A host on another port that its [host]:port name does not know: ssh also trusts the
  // key on a bare host line, read-only; a changed or revoked key there leaves it new.
  const fallback = checkName(entries, bare, blob);
  if (fallback.verdict === 'match') return fallback;
  if (found.verdict === 'unknown' && fallback.verdict === 'cert-authority') return fallback;
  return fallback.verdict === 'revoked' ? { ...found, revokedBare: { name: bare, entry: fallback.entry! } } : found;
}

// ssh2's host key algorithms in its order of preference, with the key type each uses.
const HOST_KEY_ALGORITHMS: Array<[algorithm: string, keyType: string]> = [
  ['ssh-ed25519', 'ssh-ed25519'],
  ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256'],
  ['ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp384'],
  ['ecdsa-sha2-nistp521', 'ecdsa-sha2-nistp521'],
  ['rsa-sha2-512', 'ssh-rsa'],
  ['rsa-sha2-256', 'ssh-rsa'],
  ['ssh-rsa', 'ssh-rsa'],
];

/**
 * The host key algorithms to offer for `name`, those of key types the file holds for it
 * first (ssh's order_hostkeyalgs): otherwise a host known by its ECDSA key only would show
 * its ed25519 key, which ssh counts as a changed key. Undefined when the file knows none.
 */
export function hostKeyAlgorithms(file: string, name: string): string[] | undefined {
  let entries: KnownHostsEntry[];
  try {
    entries = readEntries(file);
  } catch {
    return undefined; // the host key check reports it
  }
  const known = new Set(
    entriesFor(entries, name)
      .filter((entry) => !entry.marker)
      .map((entry) => entry.keyType),
  );
  const first = HOST_KEY_ALGORITHMS.filter(([, keyType]) => known.has(keyType)).map(([algorithm]) => algorithm);
  if (!first.length) return undefined;
  return [...first, ...HOST_KEY_ALGORITHMS.map(([algorithm]) => algorithm).filter((algorithm) => !first.includes(algorithm))];
}

export function recordHostKey(file: string, name: string, blob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${name.toLowerCase()} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}

/**
 * Decide whether to trust `blob` for `name`. Returns an error message naming the host, the
 * file (and line) and the reason when the host must be refused, or undefined when it may be used.
 */
export function verifyHostKey(mode: HostKeyChecking, file: string, name: string, blob: Buffer): string | undefined {
  if (mode === 'off') return undefined;
  let check: HostKeyCheck;
  try {
    check = checkHostKey(file, name, blob);
  } catch (error) {
    return `host key for ${name} cannot be checked: ${(error as Error).message}`;
  }
  const { verdict, entry, revokedBare } = check;
  const at = entry && `${file}:${entry.line}`;
  switch (verdict) {
    case 'match':
      return undefined;
    case 'revoked':
      return `host key for ${name} (${keyTypeOf(blob)}) is revoked in ${at}`;
    case 'mismatch':
      return `host key for ${name} does not match ${at} (a ${entry!.keyType} key; possible man-in-the-middle); remove the old entry if the host was reinstalled`;
    case 'cert-authority':
      return `host key for ${name} is only vouched for by @cert-authority in ${at}: host certificates are not supported; add the host's own key`;
    case 'unknown':
      if (mode === 'accept-new') {
        try {
          recordHostKey(file, name, blob);
        } catch (error) {
          return `host key for ${name} is new but cannot be recorded in ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
        }
        return undefined;
      }
      if (revokedBare) return `host key for ${name} is not in ${file}, and is revoked for ${revokedBare.name} in ${file}:${revokedBare.entry.line}`;
      return `host key for ${name} is not in ${file}; add it (ssh-keyscan), or use --host-key-checking accept-new`;
  }
}
