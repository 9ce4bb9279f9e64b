/**
 * The argument kit over every module: Ansible's coercions (checked against ansible-core's
 * own boolean() and int()), aliases, collection names, and unknown arguments.
 */
import { execFileSync } from 'node:child_process';
import { argumentKinds, parseArguments, toBoolean } from '../../src/modules/args.js';
import { findModule, modules } from '../../src/modules/index.js';
import { resolveMode, shellPath } from '../../src/modules/remote-file.js';
import { commandModule } from '../../src/modules/command.js';
import { statModule } from '../../src/modules/stat.js';
import type { Module, ModuleContext } from '../../src/modules/types.js';
import { LocalTransport } from '../../src/transport/local.js';
import { InputError } from '../../src/input-error.js';

/** The smallest valid arguments of each module, and ones with which every boolean may be true. */
const base: Record<string, Record<string, unknown>> = {
  command: { _raw: 'true' },
  shell: { _raw: 'true' },
  copy: { dest: '/x', content: 'a' },
  template: { src: 't.j2', dest: '/x' },
  file: { path: '/x', state: 'directory' },
  lineinfile: { path: '/x', line: 'a', regexp: '^a' },
  blockinfile: { path: '/x', block: 'a' },
  stat: { path: '/x' },
  slurp: { src: '/x' },
  service: { name: 'x' },
  wait_for: { port: 22 },
  debug: {},
  assert: { that: 'true' },
  fail: {},
  set_fact: { a: 1 },
  k8s: { kind: 'Namespace', name: 'x' },
};

const parse = (module: string, args: Record<string, unknown>) => parseArguments(findModule(module)!, args) as Record<string, unknown>;

/** ansible-core's own answers, from the python3 that carries it. */
function ansible(expression: string, values: unknown[]): unknown[] {
  const program = [
    'import json, sys',
    'from ansible.module_utils.parsing.convert_bool import boolean',
    'from ansible.module_utils.common.validation import check_type_int',
    'def attempt(f):',
    '    try: return f()',
    '    except Exception: return "error"',
    `print(json.dumps([attempt(lambda: ${expression}) for v in json.loads(sys.argv[1])]))`,
  ].join('\n');
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', program, JSON.stringify(values)]).toString()) as unknown[];
}

const BOOLEAN_FORMS = [
  'yes',
  'no',
  'Yes',
  'NO',
  'true',
  'false',
  'True',
  'FALSE',
  'on',
  'off',
  'On',
  'OFF',
  '1',
  '0',
  'y',
  'n',
  'Y',
  'N',
  't',
  'f',
  ' yes ',
  1,
  0,
  true,
  false,
];
const NOT_BOOLEAN = ['maybe', '', '2', 'enable', 2];
const INT_FORMS: Array<[unknown, number]> = [
  [5, 5],
  ['5', 5],
  [' 42 ', 42],
  ['-3', -3],
  ['+7', 7],
  ['1_000', 1000],
  ['007', 7],
];
const NOT_INT = ['5.5', '0x10', 'five', '', '1e3', 5.5];

describe('coercions as ansible-core makes them', () => {
  test("booleans: what ansible's boolean() accepts, and the same values", () => {
    expect(BOOLEAN_FORMS.map(toBoolean)).toEqual(ansible('boolean(v)', BOOLEAN_FORMS));
    expect(ansible('boolean(v)', NOT_BOOLEAN)).toEqual(NOT_BOOLEAN.map(() => 'error'));
    for (const value of NOT_BOOLEAN) expect(typeof toBoolean(value)).not.toBe('boolean');
  });

  test("integers: what ansible's check_type_int accepts, and the same values", () => {
    const forms = INT_FORMS.map(([form]) => form);
    expect(ansible('check_type_int(v)', forms)).toEqual(INT_FORMS.map(([, value]) => value));
    expect(forms.map((form) => parse('debug', { verbosity: form }).verbosity)).toEqual(INT_FORMS.map(([, value]) => value));
    expect(ansible('check_type_int(v)', NOT_INT)).toEqual(NOT_INT.map(() => 'error'));
    for (const value of NOT_INT) expect(() => parse('debug', { verbosity: value })).toThrow(InputError);
  });

  test("modes: strings are read as Python's int(mode, 8) reads them, numbers are the mode", () => {
    const strings = ['644', '0644', '0o644', ' 0755 ', '7', '0_600'];
    expect(strings.map((mode) => resolveMode(mode, 0, false))).toEqual(ansible('int(v, 8)', strings));
    expect(resolveMode(0o644, 0, false)).toBe(0o644);
    expect(resolveMode(644, 0, false)).toBe(644);
    expect(parse('file', { path: '/x', mode: '0644' }).mode).toBe('0644');
    expect(parse('copy', { dest: '/x', content: '', mode: 0o600 }).mode).toBe(0o600);
  });

  test('lists from comma strings, strings from numbers and booleans, Python-style', () => {
    expect(parse('command', { argv: 'ls,-l' }).argv).toEqual(['ls', '-l']);
    expect(parse('command', { argv: ['echo', 1] }).argv).toEqual(['echo', '1']);
    expect(parse('service', { name: 1000 }).name).toBe('1000');
    expect(parse('lineinfile', { path: '/x', line: true }).line).toBe('True');
  });
});

// Every boolean and integer argument of every module, from the kit's record of their types.
const typed = modules.flatMap((module) =>
  Object.entries(argumentKinds(module.schema))
    .filter(([, kind]) => kind === 'bool' || kind === 'int' || kind === 'float')
    .map(([argument, kind]) => [module.name, argument, kind!] as const),
);

describe('every typed argument of every module takes Ansible forms', () => {
  test('the table covers every module that has typed arguments', () => {
    expect([...new Set(typed.map(([module]) => module))].sort()).toEqual(
      ['assert', 'blockinfile', 'command', 'copy', 'debug', 'file', 'k8s', 'lineinfile', 'service', 'shell', 'stat', 'template', 'wait_for'].sort(),
    );
    expect(typed.length).toBeGreaterThan(30);
  });

  test.each(typed)('%s: %s (%s)', (module, argument, kind) => {
    if (kind === 'bool') {
      for (const [form, value] of [
        ['yes', true],
        ['no', false],
        ['True', true],
        ['off', false],
        ['1', true],
        ['0', false],
        [true, true],
      ] as const) {
        expect(parse(module, { ...base[module], [argument]: form })[argument]).toBe(value);
      }
      expect(() => parse(module, { ...base[module], [argument]: 'maybe' })).toThrow(`'${argument}' expected boolean`);
    } else {
      expect(parse(module, { ...base[module], [argument]: '5' })[argument]).toBe(5);
      expect(parse(module, { ...base[module], [argument]: 5 })[argument]).toBe(5);
      expect(() => parse(module, { ...base[module], [argument]: 'soon' })).toThrow(`'${argument}' expected number`);
    }
  });

  test.each([
    ['service', { name: 'x', enabled: 'yes' }, 'enabled', true],
    ['k8s', { kind: 'Namespace', name: 'x', wait: 'yes' }, 'wait', true],
    ['stat', { path: '/x', get_checksum: 'no' }, 'get_checksum', false],
    ['wait_for', { port: '22', timeout: '5' }, 'timeout', 5],
    ['wait_for', { port: '22' }, 'port', 22],
    ['k8s', { kind: 'Namespace', name: 'x', wait_timeout: '60' }, 'wait_timeout', 60],
  ])('%s %j gives %s = %p', (module, args, argument, value) => {
    expect(parse(module, args)[argument]).toBe(value);
  });
});

describe('aliases and names', () => {
  test.each([
    ['file', { dest: '/x' }, 'path', '/x'],
    ['file', { name: '/x' }, 'path', '/x'],
    ['lineinfile', { destfile: '/x', line: 'a' }, 'path', '/x'],
    ['lineinfile', { path: '/x', regex: '^a', value: 'a' }, 'regexp', '^a'],
    ['blockinfile', { path: '/x', content: 'B' }, 'block', 'B'],
    ['stat', { name: '/x' }, 'path', '/x'],
    ['slurp', { path: '/x' }, 'src', '/x'],
    ['service', { unit: 'ssh', 'daemon-reload': 'yes' }, 'daemon_reload', true],
    ['service', { service: 'ssh' }, 'name', 'ssh'],
    ['assert', { that: 'x', msg: 'no' }, 'fail_msg', 'no'],
    ['k8s', { resource_definition: { kind: 'Namespace' } }, 'definition', { kind: 'Namespace' }],
  ])('%s %j: %s', (module, args, argument, value) => {
    const parsed = parse(module, args);
    expect(parsed[argument]).toEqual(value);
    for (const key of Object.keys(args)) if (key !== argument && !(key in parsed)) expect(parsed).not.toHaveProperty(key);
  });

  test('every builtin module answers to ansible.builtin.X and ansible.legacy.X; k8s to kubernetes.core.k8s', () => {
    for (const module of modules) {
      if (module.name === 'k8s') continue;
      for (const name of [module.name, ...(module.aliases ?? [])]) {
        expect(findModule(`ansible.builtin.${name}`)).toBe(module);
        expect(findModule(`ansible.legacy.${name}`)).toBe(module);
      }
    }
    expect(findModule('ansible.builtin.systemd')).toBe(findModule('service'));
    expect(findModule('ansible.legacy.systemd_service')).toBe(findModule('service'));
    expect(findModule('kubernetes.core.k8s')).toBe(findModule('k8s'));
    expect(findModule('community.kubernetes.k8s')).toBe(findModule('k8s'));
    expect(findModule('ansible.builtin.k8s')).toBeUndefined();
  });
});

describe('unknown arguments', () => {
  const unknownError = (module: string, args: Record<string, unknown>): InputError => {
    try {
      parse(module, args);
    } catch (error) {
      return error as InputError;
    }
    throw new Error('no error');
  };

  test.each(modules.filter((module) => module.name !== 'set_fact').map((module) => module.name))('%s names the argument and the allowed ones', (module) => {
    const error = unknownError(module, { ...base[module], bogus_argument: 1 });
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`${module} arguments: unknown argument 'bogus_argument'`);
    const allowed = Object.keys(argumentKinds(findModule(module)!.schema)).filter((key) => !key.startsWith('_'));
    expect(allowed.length).toBeGreaterThan(0);
    for (const name of allowed) expect(error.hint).toContain(name);
  });

  test('a near miss gets a did-you-mean, and aliases are listed with their argument', () => {
    const error = unknownError('service', { name: 'x', enabeld: 'yes' });
    expect(error.hint).toMatch(/^did you mean 'enabled'\? allowed: name \(or service, unit\), state, enabled, /);
  });
});

describe('paths: a leading ~ is expanded on the host, as the user the task runs as', () => {
  const run = (module: Module, args: Record<string, unknown>, check = false) => {
    const transport = new LocalTransport();
    const ctx: ModuleContext = {
      host: 'localhost',
      exec: (script, options) => transport.exec(script, options),
      check,
      diff: false,
      vars: {},
      render: (text) => text,
      findLocalFile: (_kind, name) => name,
    };
    return module.run(parseArguments(module, args), ctx);
  };
  const home = execFileSync('/bin/sh', ['-c', 'printf %s ~']).toString();

  test.each([
    ['~', '~'],
    ['~/a b', "~/'a b'"],
    ['~root/x', '~root/x'],
    ['/a/~b', "'/a/~b'"],
    ["~/it's", `~/'it'\\''s'`],
    ['~$(reboot)', "'~$(reboot)'"],
  ])('%s as a shell word: %s', (path, word) => {
    expect(shellPath(path)).toBe(word);
  });

  test('stat reports the expanded path, as Ansible does', async () => {
    expect((await run(statModule, { path: '~' })).stat).toMatchObject({ exists: true, isdir: true, path: home });
    expect((await run(statModule, { path: '~/no such file here' })).stat).toEqual({ exists: false });
  });

  test('command creates/removes and chdir', async () => {
    expect(await run(commandModule, { _raw: 'false', creates: '~' }, true)).toMatchObject({ changed: false, msg: 'skipped, since ~ exists' });
    expect(await run(commandModule, { _raw: 'pwd', chdir: '~' })).toMatchObject({ rc: 0, stdout: home });
  });
});
