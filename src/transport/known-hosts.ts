/**
 * Host key checking against an OpenSSH known_hosts file: plain and hashed (`|1|salt|hash`)
 * host fields, `[host]:port` for non-standard ports, wildcards and negation, and the
 * `@revoked` marker. A mismatched or revoked key refuses the host.
 */
import { createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type HostKeyChecking = 'strict' | 'accept-new' | 'off';
export type HostKeyVerdict = 'match' | 'mismatch' | 'unknown' | 'revoked';

interface Entry {
  marker?: string;
  hosts: string;
  keyType: string;
  key: string;
}

/** The name known_hosts uses for a host: `addr` on port 22, `[addr]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOf(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('ascii');
}

function parse(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]!.startsWith('@') ? fields.shift() : undefined;
    if (fields.length < 3) continue;
    entries.push({ marker, hosts: fields[0]!, keyType: fields[1]!, key: fields[2]! });
  }
  return entries;
}

function globMatches(pattern: string, name: string): boolean {
  // Only * and ? are wildcards; the brackets of `[host]:port` are literal.
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return regex.test(name);
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

export function checkHostKey(file: string, name: string, blob: Buffer): HostKeyVerdict {
  if (!existsSync(file)) return 'unknown';
  const keyType = keyTypeOf(blob);
  const key = blob.toString('base64');
  let verdict: HostKeyVerdict = 'unknown';
  for (const entry of parse(readFileSync(file, 'utf8'))) {
    if (!hostFieldMatches(entry.hosts, name)) continue;
    if (entry.marker === '@revoked') {
      if (entry.key === key) return 'revoked';
      continue;
    }
    if (entry.marker) continue; // @cert-authority: host certificates are not used here
    if (entry.key === key) return 'match';
    if (entry.keyType === keyType) verdict = 'mismatch';
  }
  return verdict;
}

export function recordHostKey(file: string, name: string, blob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${name} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}

/**
 * Decide whether to trust `blob` for `name`. Returns an error message when the host must
 * be refused, or undefined when it may be used.
 */
export function verifyHostKey(mode: HostKeyChecking, file: string, name: string, blob: Buffer): string | undefined {
  if (mode === 'off') return undefined;
  const verdict = checkHostKey(file, name, blob);
  switch (verdict) {
    case 'match':
      return undefined;
    case 'revoked':
      return `host key for ${name} is revoked in ${file}`;
    case 'mismatch':
      return `host key for ${name} does not match ${file} (possible man-in-the-middle); remove the old entry if the host was reinstalled`;
    case 'unknown':
      if (mode === 'accept-new') {
        recordHostKey(file, name, blob);
        return undefined;
      }
      return `host key for ${name} is not in ${file}; add it (ssh-keyscan), or use --host-key-checking accept-new`;
  }
}
