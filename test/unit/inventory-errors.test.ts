import { resolve } from 'node:path';
import { hostVariables, loadInventory } from '../../src/inventory/index.js';
import { InputError } from '../../src/input-error.js';

const errors = (name: string) => resolve('test/fixtures/inventory/errors', name);

function inputError(action: () => unknown): InputError {
  try {
    action();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

/** The error loading one fixture gives: where, what, and the hint. */
function loadError(name: string) {
  const error = inputError(() => loadInventory([errors(name)]));
  return { at: `${error.pos?.line}:${error.pos?.col}`, file: error.pos?.file, message: error.message, hint: error.hint };
}

describe('inventory errors point at the source', () => {
  test('an unknown section kind names the kind and its column', () => {
    expect(loadError('unknown-section.ini')).toEqual({
      at: '4:6',
      file: errors('unknown-section.ini'),
      message: "section [web:child] has unknown kind 'child'",
      hint: 'expected [web], [web:children] or [web:vars]',
    });
  });

  test('a range with begin > end, at the column of the indented host', () => {
    expect(loadError('bad-range.ini')).toMatchObject({ at: '3:3', message: "host range '[3:1]' in 'web[3:1]' must have begin <= end" });
  });

  test('a child group that is never declared, with a did-you-mean', () => {
    expect(loadError('undefined-child.ini')).toMatchObject({
      at: '5:1',
      message: "section [prod:children] includes group 'webs', which is never declared",
      hint: "did you mean 'web'?",
    });
  });

  test('[group:vars] for a group never declared', () => {
    expect(loadError('undefined-vars.ini')).toMatchObject({ at: '4:1', message: "section [dbs:vars] is for group 'dbs', which is never declared" });
  });

  test('a host line word that is not key=value', () => {
    expect(loadError('bad-host-var.ini')).toMatchObject({ at: '2:24', message: "expected key=value host variable after 'web1', got 'oops'" });
  });

  test('an unclosed quote, at the quote', () => {
    expect(loadError('unclosed-quote.ini')).toMatchObject({ at: '2:11', message: 'cannot parse host line: no closing quotation' });
  });

  test('groups that contain each other', () => {
    expect(loadError('loop.ini')).toMatchObject({ at: '5:1', message: "adding group 'a' as a child of 'b' creates a loop" });
  });

  test('a host ending in a colon with no port', () => {
    expect(loadError('trailing-colon.ini')).toMatchObject({ at: '2:1', message: "host 'web1:' ends in ':', which is reserved to give a port (host:port)" });
  });

  test('a section header with a space inside', () => {
    expect(loadError('bad-header.ini')).toMatchObject({ at: '1:1', message: "invalid section header '[web ]'" });
  });

  test('a misspelt YAML key, with a did-you-mean', () => {
    expect(loadError('typo.yml')).toEqual({
      at: '6:7',
      file: errors('typo.yml'),
      message: "unknown key 'chidren' in group 'web'",
      hint: "did you mean 'children'?",
    });
  });

  test('YAML host variables that are not a mapping', () => {
    expect(loadError('host-vars-list.yml')).toMatchObject({ at: '3:5', message: "host 'web1' of group 'all' must be a mapping, got a list" });
  });

  test('an inventory plugin configuration is refused, not misread', () => {
    expect(loadError('plugin.yml')).toMatchObject({ at: '1:1', message: 'inventory plugin configuration files are not supported' });
  });

  test('a dynamic inventory script is refused, not misread', () => {
    expect(loadError('script.sh').message).toBe('script.sh is a dynamic inventory script, which tsrun does not run');
  });

  test('a group_vars file that is not a mapping fails when the variables are read', () => {
    const inv = loadInventory([errors('bad-group-vars/hosts.ini')]);
    const error = inputError(() => hostVariables(inv, 'web1'));
    expect(error.describe()).toBe(`${errors('bad-group-vars/group_vars/web.yml')}:1:1: a variables file must be a mapping of names to values, got a list`);
  });
});
