import { evaluateCondition, UndefinedVariableError } from '../../src/template/index.js';
import { parseYaml } from '../../src/yaml.js';
import type { InputError } from '../../src/input-error.js';

const vars = {
  result: { rc: 0, stdout: 'registry ok', changed: false, failed: false, skipped: false },
  x: 'no',
  enabled: 'yes',
  mirror_enabled: true,
  nodes: [],
};

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    return error as InputError;
  }
  throw new Error('expected an error');
}

test.each([
  ["result.rc == 0 and 'ok' in result.stdout", true],
  ['result.rc != 0', false],
  ['foo is defined', false],
  ['foo is not defined', true],
  ['not (x | bool)', true],
  ['enabled | bool', true],
  ['result is succeeded', true],
  ['result is changed', false],
  ['nodes', false],
  ['not nodes', true],
  ['mirror_enabled', true],
  ["x == 'no' or foo", true],
])('%s', (expr, expected) => {
  expect(evaluateCondition(expr, vars)).toBe(expected);
});

test('booleans pass through', () => {
  expect(evaluateCondition(true, vars)).toBe(true);
  expect(evaluateCondition(false, vars)).toBe(false);
});

test('a list holds when every item holds', () => {
  expect(evaluateCondition(['result.rc == 0', true, 'mirror_enabled'], vars)).toBe(true);
  expect(evaluateCondition(['result.rc == 0', 'nodes | length > 0'], vars)).toBe(false);
});

test('a list stops at the first false item, so later items may rely on earlier ones', () => {
  expect(evaluateCondition(['foo is defined', 'foo.bar == 1'], vars)).toBe(false);
});

test('conditions written with braces are rendered first', () => {
  expect(evaluateCondition('{{ mirror_enabled }}', vars)).toBe(true);
  expect(evaluateCondition('{{ x }}', { x: 'False' })).toBe(false);
  expect(evaluateCondition('{{ result.rc }} == 0', vars)).toBe(true);
});

test('an undefined variable in a condition names it and points at the item of a when: list', () => {
  const [task] = parseYaml('name: t\nwhen:\n  - result.rc == 0\n  - reslt.changed\n', 'play.yml') as [Record<string, unknown>];
  const error = errorOf(() => evaluateCondition(task!.when as string[], { result: vars.result }, { file: 'play.yml', line: 1, col: 1 }));
  expect(error).toBeInstanceOf(UndefinedVariableError);
  expect(error.describe()).toBe("play.yml:4:5: 'reslt' is undefined\n  hint: did you mean 'result'?");
});

test('an empty condition is an error', () => {
  expect(errorOf(() => evaluateCondition('  ', vars, { file: 'p.yml', line: 2, col: 3 })).describe()).toBe(
    'p.yml:2:3: empty condition\n  hint: write an expression such as: result.rc == 0',
  );
});

test('a syntax error names the column', () => {
  const error = errorOf(() => evaluateCondition('result.rc = 0', vars));
  expect(error.message).toContain("column 11: expected an operator or end of expression, found '='");
  expect(error.hint).toBe("use '==' to compare");
});
