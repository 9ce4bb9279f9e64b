/**
 * Secrets reach no output channel in any spelling: the console (with -v and --diff),
 * `--output json` and `--log-file`, whether a template writes a secret as it is, through
 * to_json, to_yaml, b64encode, quote or inside a list; no_log results, diffs and loop
 * items are hidden entirely. The spellings searched for are made by Python's own json,
 * yaml, base64, shlex and repr, not by tsrun.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { tsrun, type TsrunRun } from '../harness/tsrun.js';

const run = promisify(execFile);

/** Six kinds of secret: quotes and backslashes, non-ASCII, several lines, shell characters, YAML specials, plain. */
const secrets: Record<string, string> = {
  db_password: `pa"ss'w\\ord-1`,
  api_token: 'tökèn-ünïcode-42',
  private_key: '-----BEGIN KEY-----\nAAAABBBBCCCCDDDDEEEE\nFFFFGGGGHHHHIIII\n-----END KEY-----',
  shell_secret: 'a$(id)`b`;c|d&e',
  yaml_passphrase: 'key: [x, {y: z}] # not a comment',
  plain_token: 'Zm9vYmFyYmF6cXV4',
};

const encodings = (name: string): string =>
  [
    `raw={{ ${name} }}`,
    `json={{ ${name} | to_json }}`,
    `nice_json={{ {'v': ${name}} | to_nice_json }}`,
    `yaml={{ ${name} | to_yaml }}`,
    `b64={{ ${name} | b64encode }}`,
    `b64_inside={{ ('user:' ~ ${name}) | b64encode }}`,
    `quoted={{ ${name} | quote }}`,
    `in_list={{ [${name}] }}`,
  ].join('\n');

const playbook = `- hosts: all
  gather_facts: false
  vars:
${Object.entries(secrets)
  .map(([name, value]) => `    ${name}: ${JSON.stringify(value)}`)
  .join('\n')}
  tasks:
    - name: Output directory
      file: { path: "{{ out }}", state: directory }
${Object.keys(secrets)
  .map(
    (name) => `    - name: Write ${name}
      copy:
        dest: "{{ out }}/${name}.conf"
        content: ${JSON.stringify(encodings(name) + '\n')}
    - name: Show ${name}
      debug: { msg: ${JSON.stringify(`{{ [${name}, ${name} | b64encode, ${name} | to_json] }}`)} }`,
  )
  .join('\n')}
    - name: Hidden loop
      command: "echo {{ item | quote }}"
      loop: "{{ [db_password, api_token, 'no-log-item-value'] }}"
      no_log: true
    - name: Hidden file
      copy: { dest: "{{ out }}/hidden.conf", content: "no-log-content-value\\n" }
      no_log: true
`;

/** Every spelling of every secret, by Python's encoders. */
async function spellings(): Promise<Array<{ name: string; form: string }>> {
  const script = `
import base64, json, shlex, sys, yaml
forms = []
for name, s in json.load(sys.stdin).items():
    b = s.encode()
    candidates = [s, json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1], repr(s)[1:-1],
                  yaml.safe_dump(s).strip(), yaml.safe_dump(s, allow_unicode=True).strip(), shlex.quote(s),
                  base64.b64encode(b).decode(), base64.b64encode(b'user:' + b).decode()]
    candidates += [line for line in s.split('\\n') if len(line) >= 8]
    for form in candidates:
        for f in (form, form.strip("'\\"")):
            if len(f) >= 3: forms.append({'name': name, 'form': f})
print(json.dumps(forms))
`;
  const child = run('/usr/bin/python3', ['-c', script]);
  child.child.stdin!.end(JSON.stringify(secrets));
  return JSON.parse((await child).stdout) as Array<{ name: string; form: string }>;
}

let dir: string;
let consoleRun: TsrunRun;
let jsonRun: TsrunRun;
let log: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-secrets-'));
  await writeFile(path.join(dir, 'play.yml'), playbook);
  await writeFile(path.join(dir, 'hosts.ini'), 'localhost ansible_connection=local\n');
  const args = (out: string): string[] => ['run', path.join(dir, 'play.yml'), '-i', path.join(dir, 'hosts.ini'), '-e', `out=${path.join(dir, out)}`, '--diff'];
  consoleRun = await tsrun([...args('console'), '-vv']);
  jsonRun = await tsrun([...args('json'), '--output', 'json', '--log-file', path.join(dir, 'run.log')]);
  log = await readFile(path.join(dir, 'run.log'), 'utf8');
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

test('the runs write every file, so the secrets really pass through templates and diffs', async () => {
  expect(consoleRun.code).toBe(0);
  expect(jsonRun.code).toBe(0);
  const written = await readFile(path.join(dir, 'json', 'db_password.conf'), 'utf8');
  expect(written).toContain(`json=${JSON.stringify(secrets.db_password)}`);
  expect(consoleRun.stdout).toContain('+b64_inside=');
});

test('no spelling of any secret appears in the console, the JSON output or the log', async () => {
  const channels = { console: consoleRun.stdout + consoleRun.stderr, json: jsonRun.stdout + jsonRun.stderr, log };
  const leaks: string[] = [];
  for (const { name, form } of await spellings()) {
    for (const [channel, text] of Object.entries(channels)) {
      // A channel that is JSON holds the form JSON-escaped too.
      const inJson = JSON.stringify(form).slice(1, -1);
      if (text.includes(form) || (channel !== 'console' && text.includes(inJson))) leaks.push(`${name} in ${channel}: ${form}`);
    }
  }
  expect(leaks).toEqual([]);
});

test('no_log hides results, diffs and loop items in every channel', () => {
  expect(consoleRun.stdout).toMatch(/changed: \[localhost\] => \(item=None\)/);
  for (const text of [consoleRun.stdout, jsonRun.stdout, log]) {
    expect(text).not.toContain('no-log-item-value');
    expect(text).not.toContain('no-log-content-value');
  }
  const hidden = jsonRun.results.filter((r) => r.task === 'Hidden loop');
  expect(hidden.map((r) => r.item)).toEqual([null, null, null]);
  expect(jsonRun.results.find((r) => r.task === 'Hidden file')?.result).not.toHaveProperty('diff');
});
