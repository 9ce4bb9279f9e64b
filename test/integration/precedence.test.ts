/** Variable precedence, observed through a real run (local connection). */
import path from 'node:path';
import { REPO_ROOT } from '../harness/hosts.js';
import { tsrun } from '../harness/tsrun.js';

const fixture = path.join(REPO_ROOT, 'test/fixtures/precedence');

test('each layer overrides the ones below it, extra vars win over all', async () => {
  const run = await tsrun([
    'run',
    path.join(fixture, 'site.yml'),
    '-i',
    path.join(fixture, 'inventory/hosts.ini'),
    '--output',
    'json',
    '-e',
    'from_extra=extra-vars',
  ]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const messages = run.results.filter((r) => r.task.startsWith('layers : ') && 'msg' in r.result).map((r) => r.result.msg);
  expect(messages).toEqual([
    // role default < inventory group_vars; group inline < group_vars/all; host inline < playbook host_vars;
    // play vars; play vars < role vars; role vars < task vars; task vars (before set_fact); extra vars.
    'inventory-all|inventory-group_vars-all|playbook-host_vars|play-vars|role-vars|task-vars|task-vars|extra-vars',
    // set_fact beats task and role vars; extra vars still win; templated values render when read.
    'set-fact|extra-vars|play-vars rendered when read',
  ]);
});

test('variables render lazily: unused broken ones do no harm, task vars see the loop item, results are data', async () => {
  const run = await tsrun(['run', path.join(fixture, 'lazy.yml'), '-i', path.join(fixture, 'inventory/hosts.ini'), '--output', 'json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.results.map((r) => [r.task, r.status, r.result.msg])).toEqual([
    ['Loop with task vars that use the item', 'ok', 'a-x'],
    ['Loop with task vars that use the item', 'ok', 'b-x'],
    ['Output that looks like a template stays data', 'changed', undefined],
    ['debug', 'ok', '{{ not a template }}'],
  ]);
});
