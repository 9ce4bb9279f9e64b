/**
 * The known_hosts parser on its own: which lines it keeps, which host fields cover a name,
 * that no malformed file makes it throw, and the host key algorithms it asks for. How
 * these decide against the real ssh is test/integration/known-hosts.test.ts.
 */
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkHostKey, entriesFor, hostKeyAlgorithms, parseKnownHosts, verifyHostKey } from '../../src/transport/known-hosts.js';

const wire = (...parts: Buffer[]): Buffer =>
  Buffer.concat(parts.flatMap((part) => [Buffer.from([0, 0, 0, 0].map((_, i) => (part.length >>> (24 - 8 * i)) & 0xff)), part]));

/** A fresh ed25519 public key as an SSH blob. */
function ed25519(): Buffer {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return wire(Buffer.from('ssh-ed25519'), Buffer.from(jwk.x!, 'base64url'));
}

const key = ed25519();
const other = ed25519();
const line = (hosts: string, blob: Buffer = key): string => `${hosts} ssh-ed25519 ${blob.toString('base64')}`;
const hashed = (name: string): string => {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsrun-known-hosts-unit-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function knownHosts(...lines: string[]): string {
  const file = path.join(dir, `known_hosts-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, lines.join('\n'));
  return file;
}

describe('parseKnownHosts', () => {
  test('keeps well-formed lines, with their line numbers, markers and comments ignored', () => {
    const text = [
      '# comment',
      '',
      ' \t ',
      `  \t${line('web1')}  # trailing comment`,
      `@revoked ${line('*')}`,
      `@cert-authority\t${line('*.example.com')}`,
      `${line('web2')}\r`,
    ].join('\n');
    expect(parseKnownHosts(text).map(({ line: at, marker, hosts }) => ({ at, marker, hosts }))).toEqual([
      { at: 4, marker: undefined, hosts: 'web1' },
      { at: 5, marker: '@revoked', hosts: '*' },
      { at: 6, marker: '@cert-authority', hosts: '*.example.com' },
      { at: 7, marker: undefined, hosts: 'web2' },
    ]);
  });

  test.each([
    ['bad base64', 'web1 ssh-ed25519 AAAA!!notbase64'],
    ['a truncated key', `web1 ssh-ed25519 ${key.toString('base64').slice(0, 30)}`],
    ['a key longer than its type', `web1 ssh-ed25519 ${Buffer.concat([key, Buffer.from([0, 0, 0, 1, 7])]).toString('base64')}`],
    ['a key of another type than the line says', `web1 ecdsa-sha2-nistp256 ${key.toString('base64')}`],
    ['an unknown key type', `web1 nonsense ${key.toString('base64')}`],
    ['no key', 'web1 ssh-ed25519'],
    ['a host only', 'web1'],
    ['a comment for the key type', `web1 #ssh-ed25519 ${key.toString('base64')}`],
    ['an unknown marker', `@trusted ${line('web1')}`],
    ['two markers', `@revoked @revoked ${line('web1')}`],
    ['a marker only', '@revoked'],
    ['an old RSA1 line', 'web1 2048 65537 12345'],
  ])('skips a line with %s', (_what, text) => {
    expect(parseKnownHosts(text)).toEqual([]);
  });

  test('never throws, whatever the file holds', () => {
    const junk = [
      randomBytes(4096).toString('latin1'),
      '\u0000\u0000',
      '|1|||',
      '|1|AAAA|',
      `${'a'.repeat(5000)} ssh-ed25519 ${'A'.repeat(9999)}`,
      '[',
      '!',
      ',,,',
    ];
    for (const text of junk) expect(() => parseKnownHosts(text)).not.toThrow();
    const file = knownHosts(...junk, line('web1'));
    expect(checkHostKey(file, 'web1', key).verdict).toBe('match');
  });
});

describe('host fields', () => {
  const covers = (hosts: string, name: string): boolean => entriesFor(parseKnownHosts(line(hosts)), name).length === 1;

  test.each([
    ['web1', 'web1', true],
    ['web1', 'WEB1', true],
    ['WEB1.Example.COM', 'web1.example.com', true],
    ['web1', 'web10', false],
    ['web?', 'web1', true],
    ['web?', 'web10', false],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com,!bad.example.com', 'bad.example.com', false],
    ['!bad.example.com,*.example.com', 'bad.example.com', false],
    ['!bad.example.com', 'good.example.com', false],
    ['web1,web2', 'web2', true],
    ['[web1]:2222', '[web1]:2222', true],
    ['[web1]:2222', 'web1', false],
    ['[web1]:*', '[web1]:2222', true],
    ['w[e]b1', 'web1', false],
    ['web.1', 'webx1', false],
  ])('%s covers %s: %s', (hosts, name, expected) => {
    expect(covers(hosts, name)).toBe(expected);
  });

  test('a hashed field covers the lowercased name it was made of, and nothing else', () => {
    expect(covers(hashed('web1'), 'WEB1')).toBe(true);
    expect(covers(hashed('[web1]:2222'), '[web1]:2222')).toBe(true);
    expect(covers(hashed('web1'), 'web2')).toBe(false);
    expect(covers(`${hashed('web1')},web2`, 'web2')).toBe(false);
    expect(covers('|1|bad|hash', 'web1')).toBe(false);
  });
});

describe('verifyHostKey', () => {
  test('a revoked key is refused wherever its line is; other keys of the host mean it changed', () => {
    expect(verifyHostKey('strict', knownHosts(line('web1'), `@revoked ${line('web1')}`), 'web1', key)).toMatch(/is revoked in .*:2$/);
    expect(verifyHostKey('accept-new', knownHosts(line('web1', other)), 'web1', key)).toMatch(/does not match .*:1 /);
    expect(verifyHostKey('strict', knownHosts(line('web1', other), line('web1')), 'web1', key)).toBeUndefined();
  });

  test('accept-new records a new host lowercased, on a line of its own, creating the directory', () => {
    const file = path.join(dir, 'new-dir', 'known_hosts');
    expect(verifyHostKey('accept-new', file, '[Web1]:2222', key)).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe(`${line('[web1]:2222')}\n`);
    expect(verifyHostKey('strict', file, '[WEB1]:2222', key)).toBeUndefined();
  });

  test('a known_hosts file that cannot be read or written refuses the host, saying why', () => {
    expect(verifyHostKey('strict', dir, 'web1', key)).toBe(`host key for web1 cannot be checked: cannot read known_hosts file ${dir}: EISDIR`);
    const notADir = knownHosts(line('web2'));
    expect(verifyHostKey('accept-new', path.join(notADir, 'known_hosts'), 'web1', key)).toMatch(/^host key for web1 cannot be checked: .*: ENOTDIR$/);
    expect(hostKeyAlgorithms(dir, 'web1')).toBeUndefined();
  });

  test('off decides nothing and reads nothing', () => {
    expect(verifyHostKey('off', path.join(dir, 'absent'), 'web1', key)).toBeUndefined();
  });
});

describe('hostKeyAlgorithms', () => {
  const ecdsa = wire(Buffer.from('ecdsa-sha2-nistp256'), Buffer.from('nistp256'), Buffer.alloc(65, 4));
  const rsa = wire(Buffer.from('ssh-rsa'), Buffer.from([1, 0, 1]), Buffer.alloc(257, 1));

  test('puts the types the file holds for the host first, in ssh2 order', () => {
    const file = knownHosts(`web1 ssh-rsa ${rsa.toString('base64')}`, `web1 ecdsa-sha2-nistp256 ${ecdsa.toString('base64')}`, line('web2'));
    expect(hostKeyAlgorithms(file, 'web1')).toEqual([
      'ecdsa-sha2-nistp256',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
    ]);
  });

  test('leaves the defaults when the file knows no plain key for the host', () => {
    const file = knownHosts(line('web2'), `@cert-authority ${line('*')}`, `@revoked ${line('web1')}`);
    expect(hostKeyAlgorithms(file, 'web1')).toBeUndefined();
    expect(hostKeyAlgorithms(path.join(dir, 'absent'), 'web1')).toBeUndefined();
  });
});
