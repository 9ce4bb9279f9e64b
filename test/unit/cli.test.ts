/**
 * The command line without hosts: how `-e` values combine, and the exit codes and
 * messages of bad options and bad input.
 */
import path from 'node:path';
import { jest } from '@jest/globals';
import { main, EXIT } from '../../src/cli/main.js';
import { parseExtraVars } from '../../src/cli/run.js';
import { InputError } from '../../src/input-error.js';
import { REPO_ROOT } from '../harness/hosts.js';

const fixtures = path.join(REPO_ROOT, 'test/fixtures');
const site = path.join(fixtures, 'cli/site.yml');

/** Run the CLI in this process; what it wrote to stdout and stderr, and its exit code. */
async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('-e extra vars', () => {
  test('k=v pairs, with quoted values holding spaces', () => {
    expect(parseExtraVars(['a=1 b="two words" c=\'x y\' d='])).toEqual({ a: '1', b: 'two words', c: 'x y', d: '' });
  });

  test('JSON and YAML mappings keep their types', () => {
    expect(parseExtraVars(['{"a": 1, "b": [true, null]}', '{c: yes}'])).toEqual({ a: 1, b: [true, null], c: true });
  });

  test('@file reads a YAML mapping; later values win', () => {
    const file = `@${fixtures}/cli/extra.yml`;
    expect(parseExtraVars(['greeting=kv a=0', file])).toEqual({ greeting: 'from-file', a: 2 });
    expect(parseExtraVars([file, '{"a": 5}'])).toEqual({ greeting: 'from-file', a: 5 });
  });

  test.each([
    ['@/nowhere/vars.yml', 'extra vars file not found: /nowhere/vars.yml'],
    ['{"a": ', '-e {"a": : invalid JSON/YAML'],
    ['[1, 2]', '-e [1, 2]: expected a mapping'],
    ['just words', '-e just words: expected k=v, a JSON/YAML mapping, or @file'],
  ])('%s is refused', (value, message) => {
    expect(() => parseExtraVars([value])).toThrow(InputError);
    expect(() => parseExtraVars([value])).toThrow(message);
  });
});

describe('exit codes', () => {
  test.each([
    [['--forks', '0'], "--forks expects a positive whole number, got '0'"],
    [['--forks', 'two'], "--forks expects a positive whole number, got 'two'"],
    [['-T', '-1'], "--timeout expects a positive whole number, got '-1'"],
    [['--bogus'], "unknown option '--bogus'"],
    [['--host-key-checking', 'maybe'], "argument 'maybe' is invalid"],
  ])('bad option %j exits 5 and says why', async (flags, message) => {
    const result = await cli('run', site, '-i', 'localhost,', ...flags);
    expect(result.code).toBe(EXIT.badOptions);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  test('a missing playbook argument exits 5', async () => {
    const result = await cli('run');
    expect(result.code).toBe(EXIT.badOptions);
    expect(result.stderr).toContain("missing required argument 'playbook'");
  });

  test('invalid input exits 1 with file:line:col and the hint', async () => {
    const playbook = path.join(fixtures, 'errors/unknown-play-key.yml');
    const result = await cli('run', playbook, '-i', 'localhost,', '--syntax-check');
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stderr).toBe(`ERROR: ${playbook}:2:3: play: unknown key 'hostz'\n  hint: did you mean 'hosts'?\n`);
  });

  test('a bad -e value is invalid input (exit 1), not a crash', async () => {
    const result = await cli('run', site, '-i', 'localhost,', '--syntax-check', '-e', '@/nowhere/vars.yml');
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stderr).toBe('ERROR: extra vars file not found: /nowhere/vars.yml\n');
  });

  test('--syntax-check of a good playbook exits 0 and names it', async () => {
    const result = await cli('run', site, '-i', 'localhost,', '--syntax-check');
    expect(result).toEqual({ code: EXIT.ok, stdout: `playbook: ${site}\n`, stderr: '' });
  });

  test('--version exits 0', async () => {
    const result = await cli('--version');
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('0.1.0\n');
  });
});
