/**
 * Inputs with limits: alias bombs, recursive aliases, deep nesting, include cycles, huge
 * host ranges and huge files end in an InputError naming file:line:col, the limit and its
 * value (exit 1 on the command line), never a hang, a stack overflow or a signal. A
 * byte-order mark at the start of a file is skipped.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { jest } from '@jest/globals';
import { main, EXIT } from '../../src/cli/main.js';
import { hostVariables, loadInventory } from '../../src/inventory/index.js';
import { HOST_RANGE_LIMIT } from '../../src/inventory/host-ranges.js';
import { INCLUDE_DEPTH_LIMIT, loadPlaybook } from '../../src/playbook/load.js';
import { InputError } from '../../src/input-error.js';
import { renderString, renderTemplate } from '../../src/template/index.js';
import { BLOCK_DEPTH_LIMIT } from '../../src/template/translate.js';
import { EXPRESSION_DEPTH_LIMIT, parseExpression } from '../../src/template/parser.js';
import { loadYamlFile, YAML_LIMITS } from '../../src/yaml.js';
import { REPO_ROOT } from '../harness/hosts.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'input-limits-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** The InputError `action` throws, and how long it took to throw it. */
function inputError(action: () => unknown): InputError & { elapsed: number } {
  const started = Date.now();
  try {
    action();
  } catch (error) {
    if (error instanceof InputError) return Object.assign(error, { elapsed: Date.now() - started });
    throw error;
  }
  throw new Error('expected an InputError, but it loaded');
}

const play = (vars: string, tasks = '    - debug: msg=hi\n') =>
  `- hosts: localhost\n  gather_facts: false\n${vars ? `  vars:\n${vars}` : ''}  tasks:\n${tasks}`;

/** Anchors of `levels` levels, each a list of nine aliases of the one before: 9^levels nodes. */
function aliasBomb(levels: number, indent = '    '): string {
  const lines = [`${indent}l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
  for (let i = 1; i <= levels; i++)
    lines.push(
      `${indent}l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return `${lines.join('\n')}\n`;
}

describe('YAML aliases', () => {
  test('an alias bomb stops at the alias that passes the expansion limit', () => {
    // 9^6 = 531441 nodes; the old loader expanded them all. The limit is passed in l5's first alias.
    const file = write('bomb.yml', play(aliasBomb(6)));
    const error = inputError(() => loadPlaybook(file));
    expect(error.describe()).toMatch(new RegExp(`^${file}:9:14: YAML aliases expand to more than ${YAML_LIMITS.aliasNodes} nodes\\n  hint: .*alias bomb`));
    expect(error.elapsed).toBeLessThan(2000);
  });

  test('aliases used as real playbooks use them (merge keys, repeated lists) load', () => {
    const file = write('ok.yml', play('    base: &base {a: 1, b: 2}\n    list: &list [1, 2, 3]\n    copy: {<<: *base, c: 3}\n    again: *list\n'));
    expect(loadPlaybook(file).plays[0]!.vars).toEqual({ base: { a: 1, b: 2 }, list: [1, 2, 3], copy: { a: 1, b: 2, c: 3 }, again: [1, 2, 3] });
  });

  test('an alias inside the node it names is refused, not expanded forever', () => {
    const file = write('recursive.yml', '- &play\n  hosts: localhost\n  vars:\n    again: *play\n  tasks: []\n');
    expect(inputError(() => loadPlaybook(file)).describe()).toBe(
      `${file}:4:12: YAML alias *play refers to a node that contains it\n  hint: a recursive alias would expand forever`,
    );
  });
});

describe('YAML a host sends', () => {
  test("from_yaml of a host's alias bomb fails in seconds, with the limit named", () => {
    const text = aliasBomb(10, '');
    const started = Date.now();
    expect(() => renderString('{{ text | from_yaml }}', { text })).toThrow(
      `from_yaml: not valid YAML: YAML aliases expand to more than ${YAML_LIMITS.aliasNodes} nodes`,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(renderString('{{ text | from_yaml }}', { text: 'a: &a [1, 2]\nb: *a\na: again\n' })).toEqual({ a: 'again', b: [1, 2] });
  });
});

describe('YAML nesting', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  test(`${YAML_LIMITS.depth} levels load; one more is refused where it starts`, () => {
    // The play list and the play mapping are two levels, the vars mapping a third.
    const ok = write('ok.yml', play(`    x: ${nested(YAML_LIMITS.depth - 3)}\n`));
    expect(loadPlaybook(ok).plays).toHaveLength(1);
    const deep = write('deep.yml', play(`    x: ${nested(YAML_LIMITS.depth - 2)}\n`));
    expect(inputError(() => loadPlaybook(deep)).describe()).toMatch(
      new RegExp(`^${deep}:4:${8 + YAML_LIMITS.depth - 3}: YAML nested more than ${YAML_LIMITS.depth} levels deep`),
    );
  });

  test('a hundred thousand levels, flow or block, fail fast instead of overflowing the stack', () => {
    for (const [name, text] of [
      ['flow.yml', `x: ${'{a: '.repeat(100_000)}1${'}'.repeat(100_000)}\n`],
      ['block.yml', Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}- `).join('\n')],
    ] as const) {
      const error = inputError(() => loadYamlFile(write(name, text)));
      expect(error.message).toBe(`YAML nested more than ${YAML_LIMITS.depth} levels deep`);
      expect(error.pos?.file).toBe(join(dir, name));
      expect(error.elapsed).toBeLessThan(3000);
    }
  });

  test('aliases cannot build what nesting forbids', () => {
    const half = YAML_LIMITS.depth / 2;
    const file = write('aliases.yml', `a: &a ${'['.repeat(half)}${']'.repeat(half)}\nb: ${'['.repeat(half)}*a${']'.repeat(half)}\n`);
    expect(inputError(() => loadYamlFile(file)).message).toBe(`YAML nested more than ${YAML_LIMITS.depth} levels deep`);
  });
});

describe('includes', () => {
  test('a task file that includes itself names the chain at the include; one included twice in a row is no cycle', () => {
    const file = write('site.yml', play('', '    - include_tasks: once.yml\n    - include_tasks: once.yml\n    - include_tasks: loop.yml\n'));
    write('once.yml', '- debug: msg=once\n');
    const loop = write('loop.yml', '- debug: msg=hi\n- include_tasks: loop.yml\n');
    expect(inputError(() => loadPlaybook(file)).describe()).toBe(
      `${loop}:2:3: task file includes itself: loop.yml -> loop.yml\n  hint: an include cycle would never end; remove one of the includes`,
    );
  });

  test('a cycle through another file, with import_tasks, names every file of it', () => {
    const file = write('site.yml', play('', '    - import_tasks: tasks/a.yml\n'));
    write('tasks/a.yml', '- import_tasks: b.yml\n');
    const b = write('tasks/b.yml', '- debug: msg=b\n- include_tasks: a.yml\n');
    expect(inputError(() => loadPlaybook(file)).describe()).toMatch(`${b}:2:3: task file includes itself: tasks/a.yml -> tasks/b.yml -> tasks/a.yml`);
  });

  test('a role whose tasks include its own main file', () => {
    const file = write('site.yml', '- hosts: localhost\n  roles: [web]\n');
    const main = write('roles/web/tasks/main.yml', '- include_tasks: main.yml\n');
    expect(inputError(() => loadPlaybook(file)).message).toBe('task file includes itself: roles/web/tasks/main.yml -> roles/web/tasks/main.yml');
    expect(inputError(() => loadPlaybook(file)).pos).toEqual({ file: main, line: 1, col: 3 });
  });

  test('a playbook that imports itself, directly or through another', () => {
    const self = write('self.yml', '- import_playbook: self.yml\n');
    expect(inputError(() => loadPlaybook(self)).describe()).toMatch(`${self}:1:3: playbook includes itself: self.yml -> self.yml`);
    const a = write('a.yml', '- hosts: localhost\n  tasks: []\n- import_playbook: b.yml\n');
    const b = write('b.yml', '- import_playbook: a.yml\n');
    expect(inputError(() => loadPlaybook(a)).describe()).toMatch(`${b}:1:3: playbook includes itself: a.yml -> b.yml -> a.yml`);
  });

  test(`includes nest ${INCLUDE_DEPTH_LIMIT} deep, counting the playbook, and no deeper`, () => {
    const chain = (depth: number, name: string) => {
      for (let i = 1; i < depth; i++) write(`${name}/t${i}.yml`, `- include_tasks: t${i + 1}.yml\n`);
      write(`${name}/t${depth}.yml`, '- debug: msg=bottom\n');
      return write(`${name}.yml`, play('', `    - include_tasks: ${name}/t1.yml\n`));
    };
    expect(loadPlaybook(chain(INCLUDE_DEPTH_LIMIT - 1, 'ok')).plays).toHaveLength(1);
    const error = inputError(() => loadPlaybook(chain(INCLUDE_DEPTH_LIMIT, 'deep')));
    expect(error.message).toMatch(
      new RegExp(`^includes nested more than ${INCLUDE_DEPTH_LIMIT} deep: deep.yml -> deep/t1.yml -> .* -> deep/t${INCLUDE_DEPTH_LIMIT}.yml$`),
    );
    expect(error.pos).toEqual({ file: join(dir, `deep/t${INCLUDE_DEPTH_LIMIT - 1}.yml`), line: 1, col: 3 });
  });
});

describe('host ranges', () => {
  test.each([
    [
      'hosts.ini',
      '[web]\nhost[1:100000000]\n',
      2,
      1,
      `host range '[1:100000000]' in 'host[1:100000000]' gives 100000000 hosts, more than the limit of ${HOST_RANGE_LIMIT}`,
    ],
    [
      'hosts.yml',
      'all:\n  hosts:\n    host[1:100000000]:\n',
      3,
      5,
      `host range '[1:100000000]' in 'host[1:100000000]' gives 100000000 hosts, more than the limit of ${HOST_RANGE_LIMIT}`,
    ],
    [
      'product.ini',
      '[web]\nh[1:1000]-[1:1000]-[1:1000] x=1\n',
      2,
      1,
      `host ranges in 'h[1:1000]-[1:1000]-[1:1000]' give more than ${HOST_RANGE_LIMIT} hosts, the limit for one entry`,
    ],
  ])('%s: a range past the limit is refused at its entry', (name, text, line, col, message) => {
    const file = write(name, text);
    const error = inputError(() => loadInventory([file]));
    expect(error.message).toBe(message);
    expect(error.pos).toEqual({ file, line, col });
    expect(error.elapsed).toBeLessThan(1000);
  });

  test('ten thousand ranges in one name fail on the count, not on the stack', () => {
    const file = write('many.ini', `[web]\nh${'[1:2]'.repeat(10_000)}\n`);
    expect(inputError(() => loadInventory([file])).message).toMatch(/give more than 100000 hosts/);
  });

  test('a range at the limit expands in Ansible order, in well under the seconds a list scan per host took', () => {
    const file = write('ok.ini', `[web]\nn[1:${HOST_RANGE_LIMIT / 10}]-[a:j]\n`);
    const started = Date.now();
    const hosts = [...loadInventory([file]).hosts.keys()];
    expect(Date.now() - started).toBeLessThan(5000);
    expect(hosts).toHaveLength(HOST_RANGE_LIMIT);
    expect(hosts.slice(0, 3)).toEqual(['n1-a', 'n1-b', 'n1-c']);
    expect(hosts.at(-1)).toBe(`n${HOST_RANGE_LIMIT / 10}-j`);
  });
});

describe('file size', () => {
  test(`a YAML file over ${YAML_LIMITS.fileBytes / 1024 / 1024} MiB is refused before parsing`, () => {
    const line = '    - {name: a task, debug: {msg: padding padding padding padding}}\n';
    const file = write('big.yml', play('', line.repeat(Math.ceil(YAML_LIMITS.fileBytes / line.length) + 1)));
    const error = inputError(() => loadPlaybook(file));
    expect(error.describe()).toMatch(new RegExp(`^${file}:1:1: YAML file of 8\\.0 MiB is larger than the limit of 8\\.0 MiB`));
    expect(error.elapsed).toBeLessThan(1000);
  });
});

describe('expressions', () => {
  test(`expressions nest ${EXPRESSION_DEPTH_LIMIT} levels and no deeper`, () => {
    const parens = (depth: number) => `${'('.repeat(depth)}1${')'.repeat(depth)}`;
    expect(parseExpression(parens(EXPRESSION_DEPTH_LIMIT - 1))).toMatchObject({ type: 'literal', value: 1 });
    for (const text of [parens(20_000), '['.repeat(20_000), 'not '.repeat(20_000) + 'x', '-'.repeat(20_000) + '1', 'a if b else '.repeat(20_000) + 'c']) {
      const error = inputError(() => parseExpression(text));
      expect(error.message).toMatch(
        new RegExp(`^syntax error in expression at column \\d+: expression nested more than ${EXPRESSION_DEPTH_LIMIT} levels deep`),
      );
    }
  });
});

describe('template blocks', () => {
  test(`{% if %} blocks nest ${BLOCK_DEPTH_LIMIT} deep and no deeper, even ten thousand deep`, () => {
    const nested = (n: number): string => '{% if true %}'.repeat(n) + 'x' + '{% endif %}'.repeat(n);
    expect(renderTemplate(nested(BLOCK_DEPTH_LIMIT), {}, 'deep.j2')).toBe('x');
    for (const depth of [BLOCK_DEPTH_LIMIT + 1, 10_000]) {
      expect(() => renderTemplate(nested(depth), {}, 'deep.j2')).toThrow(`blocks nested more than ${BLOCK_DEPTH_LIMIT} deep`);
    }
  });
});

describe('a byte-order mark', () => {
  const BOM = '\uFEFF';

  test('playbook, task file, role vars, inventory and group_vars load with one', () => {
    const file = write('site.yml', `${BOM}- hosts: web\n  gather_facts: false\n  roles: [r]\n  tasks:\n    - import_tasks: t.yml\n`);
    write('t.yml', `${BOM}- debug: msg=hi\n`);
    write('roles/r/vars/main.yml', `${BOM}role_var: 1\n`);
    write('roles/r/tasks/main.yml', `${BOM}- debug: msg=role\n`);
    const playbook = loadPlaybook(file);
    expect(playbook.plays[0]!.sections.flat().map((task) => task.name)).toEqual(['debug', 'debug']);
    expect(playbook.plays[0]!.roles[0]!.vars).toEqual({ role_var: 1 });

    for (const [name, text] of <Array<[string, string]>>[
      ['inventory/hosts.ini', `${BOM}[web]\nweb1\n`],
      ['yaml-inventory/hosts.yml', `${BOM}all:\n  children:\n    web:\n      hosts: {web1: }\n`],
    ]) {
      const inventoryFile = write(name, text);
      write(join(dirname(name), 'group_vars/web.yml'), `${BOM}colour: blue\n`);
      const inv = loadInventory([inventoryFile]);
      expect([...inv.groups.get('web')!.hosts]).toEqual(['web1']);
      expect(hostVariables(inv, 'web1')).toMatchObject({ colour: 'blue' });
    }
  });
});

describe('the command line', () => {
  /** Run the CLI in this process; what it wrote to stderr, and its exit code. */
  async function cli(...argv: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    try {
      return { code: await main(argv), stderr };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }

  test('an include cycle and a huge range exit 1 with file:line:col, not a stack trace', async () => {
    const file = write('site.yml', play('', '    - include_tasks: loop.yml\n'));
    const loop = write('loop.yml', '- include_tasks: loop.yml\n');
    const cycle = await cli('run', file, '-i', 'localhost,', '--syntax-check');
    expect(cycle).toEqual({
      code: EXIT.invalidInput,
      stderr: `ERROR: ${loop}:1:3: task file includes itself: loop.yml -> loop.yml\n  hint: an include cycle would never end; remove one of the includes\n`,
    });

    const inventory = write('hosts.ini', '[web]\nweb[0:99999999]\n');
    const range = await cli('run', file, '-i', inventory, '--list-hosts');
    expect(range.code).toBe(EXIT.invalidInput);
    expect(range.stderr).toBe(
      `ERROR: ${inventory}:2:1: host range '[0:99999999]' in 'web[0:99999999]' gives 100000000 hosts, more than the limit of ${HOST_RANGE_LIMIT}\n`,
    );
  });

  test('an alias bomb given with -e exits 1 in seconds', async () => {
    const file = write('site.yml', play(''));
    const levels = Array.from({ length: 10 }, (_, i) =>
      i === 0
        ? 'l0: &l0 [x, x, x, x, x, x, x, x, x]'
        : `l${i}: &l${i} [${Array(9)
            .fill(`*l${i - 1}`)
            .join(', ')}]`,
    );
    const started = Date.now();
    const bomb = await cli('run', file, '-i', 'localhost,', '--syntax-check', '-e', `{${levels.join(', ')}}`);
    expect(bomb.code).toBe(EXIT.invalidInput);
    expect(bomb.stderr).toMatch(new RegExp(`^ERROR: -e \\{l0.*: invalid JSON/YAML: YAML aliases expand to more than ${YAML_LIMITS.aliasNodes} nodes`));
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('bin/tsrun on a full alias bomb exits 1 in seconds', () => {
    const file = write('bomb.yml', play(aliasBomb(10)));
    const run = spawnSync(join(REPO_ROOT, 'bin/tsrun'), ['run', file, '-i', 'localhost,', '--syntax-check'], { encoding: 'utf8', timeout: 20_000 });
    expect(run.signal).toBeNull();
    expect(run.status).toBe(EXIT.invalidInput);
    expect(run.stderr).toMatch(new RegExp(`^ERROR: ${file}:\\d+:\\d+: YAML aliases expand to more than ${YAML_LIMITS.aliasNodes} nodes`));
  });
});
