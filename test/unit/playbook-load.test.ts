/**
 * Loading playbooks: what a user sees when a playbook is wrong (file:line:col, the key,
 * what was expected, a did-you-mean), and what the short forms Ansible accepts turn into.
 */
import path from 'node:path';
import { loadPlaybook } from '../../src/playbook/load.js';
import type { ModuleTask, Task } from '../../src/playbook/model.js';
import { InputError } from '../../src/input-error.js';
import { REPO_ROOT } from '../harness/hosts.js';

const fixtures = path.join(REPO_ROOT, 'test/fixtures/errors');
const fixture = (name: string): string => path.join(fixtures, name);

/** The error a user would read for this fixture (`file:line:col: message` and hint). */
function loadError(name: string): string {
  try {
    loadPlaybook(fixture(name));
  } catch (error) {
    if (error instanceof InputError) return error.describe();
    throw error;
  }
  throw new Error(`${name} loaded without an error`);
}

const moduleTasks = (tasks: Task[]): ModuleTask[] =>
  tasks.flatMap((task) => (task.kind === 'module' ? [task] : moduleTasks([...task.block, ...task.rescue, ...task.always])));

describe('playbook errors point at the source', () => {
  test('a tab used for indentation is invalid YAML at its line', () => {
    expect(loadError('bad-tab.yml')).toMatch(new RegExp(`^${fixture('bad-tab.yml')}:4:\\d+: invalid YAML`));
  });

  test('a misaligned key is invalid YAML at its line and column', () => {
    expect(loadError('bad-indent.yml')).toMatch(new RegExp(`^${fixture('bad-indent.yml')}:6:1: invalid YAML: .*same column`));
  });

  test('an unknown module names the key and suggests the module meant', () => {
    expect(loadError('unknown-module.yml')).toBe(`${fixture('unknown-module.yml')}:4:7: task: unknown module 'copyy'\n  hint: did you mean 'copy'?`);
  });

  test('an unknown play key is reported as such, not as a missing hosts', () => {
    expect(loadError('unknown-play-key.yml')).toBe(`${fixture('unknown-play-key.yml')}:2:3: play: unknown key 'hostz'\n  hint: did you mean 'hosts'?`);
  });

  test('a value of the wrong type names the key and the type expected', () => {
    expect(loadError('wrong-type.yml')).toBe(`${fixture('wrong-type.yml')}:2:3: play: 'become' expected boolean`);
  });

  test('a task with two modules points at the second one', () => {
    expect(loadError('two-modules.yml')).toBe(
      `${fixture('two-modules.yml')}:7:7: task: more than one module (copy, file)\n  hint: split it into one task per module`,
    );
  });

  test('an unknown role lists every directory searched', () => {
    expect(loadError('unknown-role.yml')).toBe(
      `${fixture('unknown-role.yml')}:4:7: role 'databse' not found\n  hint: looked in: ${fixture('roles')}, ${fixtures}`,
    );
  });

  test('a notify that names no handler points at the notify and suggests the handler', () => {
    expect(loadError('missing-handler.yml')).toBe(
      `${fixture('missing-handler.yml')}:7:7: notify: no handler named 'restart web'\n  hint: did you mean 'restart webapp'?`,
    );
  });

  test('include_tasks of a missing file names the file and where it was included', () => {
    expect(loadError('missing-include.yml')).toBe(`${fixture('missing-include.yml')}:4:7: included task file not found: ${fixture('tasks/nowhere.yml')}`);
  });

  test('a word that is not k=v in the short form is named', () => {
    expect(loadError('bad-short-form.yml')).toBe(
      `${fixture('bad-short-form.yml')}:4:7: module arguments: cannot parse 'state'\n  hint: write the arguments as k=v pairs or as a mapping`,
    );
  });

  test('a play without hosts says the key is missing', () => {
    expect(loadError('no-hosts.yml')).toBe(`${fixture('no-hosts.yml')}:1:3: play: missing required key 'hosts'`);
  });
});

describe('what Ansible accepts loads the same way', () => {
  test('module arguments in the k=v short form, with quotes', () => {
    const [task] = moduleTasks(loadPlaybook(fixture('short-form.yml')).plays[0]!.sections.flat());
    expect(task!.module.name).toBe('copy');
    expect(task!.args).toEqual({ src: 'a.txt', dest: '/tmp/b c.txt', mode: '0644' });
  });

  test('YAML 1.1 booleans (yes/no/off) are booleans; quoted ones stay text', () => {
    const [play] = loadPlaybook(fixture('yaml11-booleans.yml')).plays;
    expect(play!.become).toBe(true);
    expect(play!.gatherFacts).toBe(false);
    const [task] = moduleTasks(play!.sections.flat());
    expect(task!.checkMode).toBe(false);
    expect(task!.args).toEqual({ msg: 'yes' });
  });

  test('a notify naming a listen topic is accepted', () => {
    const [play] = loadPlaybook(fixture('listen-topic.yml')).plays;
    expect(moduleTasks(play!.sections.flat())[0]!.notify).toEqual(['web changed']);
    expect(play!.handlers.map((handler) => handler.name)).toEqual(['restart webapp']);
  });
});
