/**
 * A bounded, deterministic fuzz of the parsers: valid playbooks, inventories (INI and
 * YAML), variables files, templates and expressions, mutated by a seeded PRNG (byte flips,
 * truncation, duplicated and deleted lines, inserted YAML and Jinja syntax, anchors and
 * aliases, deep nesting, huge ranges). Every input must load, or fail with tsrun's own
 * InputError carrying a position, within a time bound: no other exception, no hang.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../../src/inventory/index.js';
import { VarsFileCache } from '../../src/inventory/vars-files.js';
import { loadPlaybook } from '../../src/playbook/load.js';
import { InputError } from '../../src/input-error.js';
import { renderString, renderTemplate } from '../../src/template/index.js';
import { parseExpression } from '../../src/template/parser.js';

const SEED = 0x7e57;
const CASES_PER_TARGET = 500;
/** Far above what one small input takes; a case past it counts as a hang. */
const CASE_TIME_LIMIT_MS = 2000;

/** mulberry32: small, fast, and the same sequence on every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLAYBOOKS = [
  `- name: web servers
  hosts: web
  gather_facts: false
  vars:
    base: &base {owner: root, mode: "0644"}
    packages: [nginx, curl]
    port: 8080
  tasks:
    - name: config
      copy:
        <<: *base
        dest: /etc/app.conf
        content: "port={{ port }} {{ packages | join(',') }}"
      notify: restart
      when: port is defined and port > 80
      tags: [config]
    - block:
        - command: echo {{ item }}
          loop: "{{ packages }}"
          register: out
      rescue:
        - debug: msg="failed {{ out | default('none') }}"
      always:
        - debug: var=out
  handlers:
    - name: restart
      service: name=nginx state=restarted
`,
  `---
- hosts: all
  become: yes
  vars:
    users:
      - {name: alice, groups: [admin, dev]}
      - {name: bob, groups: [dev]}
  pre_tasks:
    - debug: msg="{{ users | map(attribute='name') | list }}"
  tasks:
    - user: name={{ item.name }} groups={{ item.groups | join(',') }}
      loop: "{{ users }}"
      loop_control: {label: "{{ item.name }}"}
    - shell: "test -f /tmp/x && echo yes || echo no"
      changed_when: false
      failed_when: "'error' in result.stdout"
      register: result
`,
];

const INI_INVENTORIES = [
  `bastion ansible_host=10.0.0.1
[web]
web[01:04] http_port=8080 ansible_user=deploy
db-[a:c]:2222
[web:vars]
proxy=proxy.example.com
ntp="pool.ntp.org"
[db]
db-a
[prod:children]
web
db
[prod:vars]
env=prod
`,
];

const YAML_INVENTORIES = [
  `all:
  vars:
    ansible_user: root
  hosts:
    lonely:
  children:
    web:
      hosts:
        web[1:3]:
          http_port: 80
        web4: {ansible_port: 2222}
    db:
      hosts: db1
      vars: {role: db}
    prod:
      children:
        web:
        db:
`,
];

const VARS_FILES = [
  `ntp_servers: [0.pool.ntp.org, 1.pool.ntp.org]
defaults: &defaults
  retries: 3
  timeout: 10
service:
  <<: *defaults
  name: app
  enabled: yes
message: "{{ greeting }} world"
limits: {nofile: 65536, nproc: 4096}
`,
];

const TEMPLATES = [
  `# {{ ansible_managed | default('managed') }}
{% for host in hosts %}
server {{ host.name }} {{ host.ip }}:{{ port | default(80) }}{% if host.backup %} backup{% endif %}

{% endfor %}
{% set total = hosts | length %}
total={{ total }} {{ (total * 2) if total > 1 else 0 }}
{{#if enabled}}enabled{{else}}disabled{{/if}}
{# a comment #}
`,
];

const EXPRESSIONS = [
  "hosts | map(attribute='name') | select('match', '^web') | list | length > 0",
  'port is defined and (port | int) in [80, 443] or not enabled',
  "{'a': [1, 2, 3][1:], 'b': x if x else 'none'}['a'] | sum",
  "item.name ~ '-' ~ (item.index * 2 + 1) | string",
];

const VARS = {
  hosts: [
    { name: 'web1', ip: '10.0.0.1', backup: false },
    { name: 'web2', ip: '10.0.0.2', backup: true },
  ],
  port: 8080,
  enabled: true,
  greeting: 'hello',
  x: 1,
  item: { name: 'a', index: 2 },
};

const INSERTS = [
  '*',
  '&',
  '{{',
  '}}',
  '[',
  ']',
  '{',
  '}',
  '{%',
  '%}',
  '(',
  ')',
  ':',
  '- ',
  '? ',
  '|',
  '>',
  '!!',
  '#',
  '"',
  "'",
  '\t',
  '\n',
  '\uFEFF',
  '&a ',
  '*a',
  '<<: *a',
  '[1:99999999]',
  '{{ x }}',
  '{% if x %}',
  '{% endfor %}',
  'not ',
  '\\',
];
const NESTERS = ['[', '{a: ', '- ', '(', 'not ', '-', '{% if x %}', '{{#if x}}', '[a:', '\n  - '];

/** One mutation of `text`, chosen by `random`. */
function mutate(text: string, random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const at = Math.floor(random() * (text.length + 1));
  const lines = text.split('\n');
  const line = Math.floor(random() * lines.length);
  switch (Math.floor(random() * 10)) {
    case 0: // flip a byte
      return text.slice(0, at) + String.fromCharCode(Math.floor(random() * 128)) + text.slice(at + 1);
    case 1: // truncate
      return text.slice(0, at);
    case 2: // duplicate a line
      return [...lines.slice(0, line + 1), ...lines.slice(line)].join('\n');
    case 3: // delete a line
      return [...lines.slice(0, line), ...lines.slice(line + 1)].join('\n');
    case 4:
    case 5: // insert YAML or Jinja syntax
      return text.slice(0, at) + pick(INSERTS) + text.slice(at);
    case 6: {
      // nest deeply: sometimes within limits, sometimes far past them
      const depth = pick([2, 50, 300, 3000]);
      return text.slice(0, at) + pick(NESTERS).repeat(depth) + text.slice(at);
    }
    case 7: {
      // an anchor on one line, an alias on a sibling line at or below it: inside its own node when the line has children
      const later = line + Math.floor(random() * (lines.length - line));
      const anchored = lines.map((content, index) => (index === line ? content.replace(/:(\s|$)/, ': &a$1') : content));
      const indent = /^\s*/.exec(anchored[later]!)![0];
      anchored.splice(later + 1, 0, `${indent}again: *a`);
      return anchored.join('\n');
    }
    case 8: {
      // a huge host range after the first word of a line
      const [word = '', ...rest] = lines[line]!.split(' ');
      lines[line] = [`${word}[1:150000]`, ...rest].join(' ');
      return lines.join('\n');
    }
    default: {
      // swap two lines
      const other = Math.floor(random() * lines.length);
      const swapped = [...lines];
      [swapped[line], swapped[other]] = [swapped[other]!, swapped[line]!];
      return swapped.join('\n');
    }
  }
}

interface Target {
  name: string;
  corpus: string[];
  /** Load `text`, a mutation of corpus item `item`, the way tsrun reads that kind of input. */
  load: (text: string, dir: string, item: number) => unknown;
}

function writeIn(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const TARGETS: Target[] = [
  { name: 'playbook', corpus: PLAYBOOKS, load: (text, dir) => loadPlaybook(writeIn(dir, 'site.yml', text)) },
  { name: 'INI inventory', corpus: INI_INVENTORIES, load: (text, dir) => loadInventory([writeIn(dir, 'hosts', text)]) },
  { name: 'YAML inventory', corpus: YAML_INVENTORIES, load: (text, dir) => loadInventory([writeIn(dir, 'hosts.yml', text)]) },
  {
    name: 'vars file',
    corpus: VARS_FILES,
    load: (text, dir) => {
      mkdirSync(join(dir, 'group_vars'), { recursive: true });
      writeIn(dir, 'group_vars/all.yml', text);
      return new VarsFileCache().varsFor(dir, 'group_vars', 'all');
    },
  },
  {
    name: 'template and expression',
    corpus: [...TEMPLATES, ...EXPRESSIONS],
    load: (text, _dir, item) =>
      item < TEMPLATES.length
        ? renderTemplate(text, VARS, 'fuzz.j2')
        : [parseExpression(text), renderString(`{{ ${text} }}`, VARS, { file: 'fuzz.yml', line: 1, col: 1 })],
  },
];

/** Where an input error points: a file position, or (expressions) a column of the expression. */
function hasPosition(error: InputError): boolean {
  const extra = error as InputError & { column?: number; location?: unknown };
  return error.pos !== undefined || extra.column !== undefined || extra.location !== undefined;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parser-fuzz-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(TARGETS)('fuzzed $name', (target) => {
  test(`${CASES_PER_TARGET} mutated inputs load or fail with a positioned InputError, each within ${CASE_TIME_LIMIT_MS} ms`, () => {
    const random = prng(SEED ^ target.name.length);
    const problems: string[] = [];
    const outcomes = { loaded: 0, refused: 0 };
    for (let index = 0; index < CASES_PER_TARGET; index++) {
      const item = index % target.corpus.length;
      let text = target.corpus[item]!;
      const mutations = 1 + Math.floor(random() * 3);
      for (let i = 0; i < mutations; i++) text = mutate(text, random);
      const started = Date.now();
      try {
        target.load(text, dir, item);
        outcomes.loaded++;
      } catch (error) {
        if (!(error instanceof InputError)) {
          problems.push(`case ${index}: ${(error as Error).name}: ${String((error as Error).message).slice(0, 200)}\n${JSON.stringify(text.slice(0, 300))}`);
        } else if (!hasPosition(error)) {
          problems.push(`case ${index}: no position: ${error.message.slice(0, 200)}\n${JSON.stringify(text.slice(0, 300))}`);
        } else {
          outcomes.refused++;
        }
      }
      const elapsed = Date.now() - started;
      if (elapsed > CASE_TIME_LIMIT_MS) problems.push(`case ${index}: took ${elapsed} ms`);
    }
    expect(problems).toEqual([]);
    // The mutations must reach past the first line of defence, and most must still be refused.
    expect(outcomes.loaded).toBeGreaterThan(CASES_PER_TARGET / 50);
    expect(outcomes.refused).toBeGreaterThan(CASES_PER_TARGET / 10);
  });
});
