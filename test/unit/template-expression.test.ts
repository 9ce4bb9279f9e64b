import { evaluateExpression, TemplateSyntaxError, UndefinedVariableError } from '../../src/template/index.js';
import type { InputError } from '../../src/input-error.js';

const at = { file: 'site.yml', line: 12, col: 7 };
const vars = {
  name: 'web',
  port: 8080,
  items: [
    { name: 'a', size: 3 },
    { name: 'b', size: 5 },
  ],
  config: { nested: { key: 'value' }, 'dashed-key': 1 },
  result: { rc: 0, stdout: 'all ok', changed: true, failed: false },
  empty: [],
  nothing: null,
};

const evaluate = (expr: string, extra: Record<string, unknown> = {}) => evaluateExpression(expr, { ...vars, ...extra }, at);

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    return error as InputError;
  }
  throw new Error('expected an error');
}

describe('literals and paths', () => {
  test.each([
    ["'single'", 'single'],
    ['"dou\\"ble"', 'dou"ble'],
    ['42', 42],
    ['-1.5', -1.5],
    ['true', true],
    ['True', true],
    ['false', false],
    ['False', false],
    ['none', null],
    ['None', null],
    ['[1, "a", [2]]', [1, 'a', [2]]],
    ["{'a': 1, 'b': [true]}", { a: 1, b: [true] }],
    ['(1, 2)', [1, 2]],
  ])('%s', (expr, expected) => {
    expect(evaluate(expr)).toEqual(expected);
  });

  test('attribute, key and index access', () => {
    expect(evaluate('config.nested.key')).toBe('value');
    expect(evaluate("config['nested']['key']")).toBe('value');
    expect(evaluate("config['dashed-key']")).toBe(1);
    expect(evaluate('items[1].name')).toBe('b');
    expect(evaluate('items.0.name')).toBe('a');
    expect(evaluate('items[-1].size')).toBe(5);
    expect(evaluate('name[0]')).toBe('w');
    expect(evaluate('items[0:1]')).toEqual([{ name: 'a', size: 3 }]);
    expect(evaluate('name[::-1]')).toBe('bew');
    expect(evaluate('config[key]', { key: 'nested' })).toEqual({ key: 'value' });
  });

  test('JavaScript properties are not variables', () => {
    expect(errorOf(() => evaluate('name.length')).message).toContain("has no attribute 'length'");
    expect(errorOf(() => evaluate('config.constructor')).message).toContain("'config' has no attribute 'constructor'");
    expect(errorOf(() => evaluate('toString'))).toBeInstanceOf(UndefinedVariableError);
  });
});

describe('operators', () => {
  test.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['7 / 2', 3.5],
    ['7 // 2', 3],
    ['-7 % 3', 2],
    ['2 ** 10', 1024],
    ["'a' + 'b'", 'ab'],
    ["'a' ~ 1 ~ true", 'a1True'],
    ['[1] + [2]', [1, 2]],
    ["'ab' * 2", 'abab'],
    ["'%s:%d' % (name, port)", 'web:8080'],
    ['port == 8080', true],
    ["port == '8080'", false],
    ['port != 80', true],
    ['1 < 2 < 3', true],
    ['3 > 2 > 2', false],
    ["'a' <= 'b'", true],
    ['[1, [2]] == [1, [2]]', true],
    ["{'a': 1} == {'a': 1}", true],
    ["'ok' in result.stdout", true],
    ["'bad' not in result.stdout", true],
    ['2 in [1, 2]', true],
    ["'rc' in result", true],
    ['not true', false],
    ['not empty', true],
    ['true and 0', 0],
    ["'' or 'fallback'", 'fallback'],
    ["'yes' if port > 80 else 'no'", 'yes'],
    ["'yes' if port < 80 else 'no'", 'no'],
  ])('%s', (expr, expected) => {
    expect(evaluate(expr)).toEqual(expected);
  });

  test('filters bind tighter than comparisons and not binds looser', () => {
    expect(evaluate('items | length > 1')).toBe(true);
    expect(evaluate('not items | length > 5')).toBe(true);
    expect(evaluate("name | upper == 'WEB'")).toBe(true);
    expect(evaluate('-port | abs')).toBe(8080);
  });

  test('type errors name the operands and the expression', () => {
    const error = errorOf(() => evaluate("port + 'x'"));
    expect(error.message).toBe("unsupported operand types for +: int and str (in 'port + 'x'')");
    expect(error.pos).toEqual(at);
    expect(errorOf(() => evaluate("port < 'x'")).message).toContain("'<' is not supported between int and str");
    expect(errorOf(() => evaluate('port / 0')).message).toContain('division by zero');
  });
});

describe('tests', () => {
  test.each([
    ['name is defined', true],
    ['missing is defined', false],
    ['missing is not defined', true],
    ['missing.deeper.still is undefined', true],
    ['config.nested.nope is defined', false],
    ['nothing is none', true],
    ['name is string', true],
    ['port is number', true],
    ['port is integer', true],
    ['config is mapping', true],
    ['items is sequence', true],
    ['items is mapping', false],
    ['result is succeeded', true],
    ['result is success', true],
    ['result is failed', false],
    ['result is changed', true],
    ['result is skipped', false],
    ['result is not skipped', true],
    ['port is divisibleby 16', true],
    ['port is even', true],
    ["name is match('w')", true],
    ["name is match('e')", false],
    ["name is search('e')", true],
    ["'1.10.2' is version('1.9', '>=')", true],
    ["'1.2' is version('1.10', 'lt')", true],
    ['2 is in [1, 2]', true],
  ])('%s', (expr, expected) => {
    expect(evaluate(expr)).toBe(expected);
  });

  test('result tests need a registered result', () => {
    expect(errorOf(() => evaluate('name is failed')).message).toContain("the 'failed' test expects a registered result (a dict), got str");
  });
});

describe('method calls', () => {
  test.each([
    ["name.startswith('w')", true],
    ["name.endswith(('x', 'b'))", true],
    ["'  pad '.strip()", 'pad'],
    ["'a,b,c'.split(',')", ['a', 'b', 'c']],
    ["'a b  c'.split()", ['a', 'b', 'c']],
    ["'a,b,c'.split(',', 1)", ['a', 'b,c']],
    ["'Web'.lower()", 'web'],
    ["'x{}y{0}'.format(1)", 'x1y1'],
    ["', '.join(['a', 'b'])", 'a, b'],
    ['config.nested.keys()', ['key']],
    ['config.nested.items()', [['key', 'value']]],
    ["config.get('nope', 'dflt')", 'dflt'],
    ['range(3)', [0, 1, 2]],
  ])('%s', (expr, expected) => {
    expect(evaluate(expr)).toEqual(expected);
  });

  test('an unknown method is an error', () => {
    expect(errorOf(() => evaluate('name.explode()')).message).toContain("str has no method 'explode'");
  });
});

describe('undefined variables', () => {
  test('a missing root names the variable and suggests a close name', () => {
    const error = errorOf(() => evaluateExpression('docker_reg_service_ipp', { docker_reg_service_ip: '10.0.0.1' }, at));
    expect(error).toBeInstanceOf(UndefinedVariableError);
    expect(error.message).toBe("'docker_reg_service_ipp' is undefined");
    expect((error as UndefinedVariableError).variable).toBe('docker_reg_service_ipp');
    expect(error.hint).toBe("did you mean 'docker_reg_service_ip'?");
    expect(error.describe()).toBe("site.yml:12:7: 'docker_reg_service_ipp' is undefined\n  hint: did you mean 'docker_reg_service_ip'?");
  });

  test('a missing member names the path and the object that lacks it', () => {
    const error = errorOf(() => evaluate('result.stdout_lines'));
    expect(error.message).toBe("'result.stdout_lines' is undefined: 'result' has no attribute 'stdout_lines'");
    expect(errorOf(() => evaluate('result.stdot')).hint).toBe("did you mean 'stdout'?");
    expect(errorOf(() => evaluate('items[5]')).message).toBe("'items[5]' is undefined: 'items' has no item 5 (it has 2)");
    expect(errorOf(() => evaluate('nothing.x')).message).toBe("'nothing.x' is undefined: 'nothing' is None and has no attribute 'x'");
  });

  test('an undefined root inside a path is reported as the root', () => {
    expect(errorOf(() => evaluate('missing.a.b')).message).toBe("'missing' is undefined");
  });

  test('default, defined tests and short-circuits absorb undefined', () => {
    expect(evaluate("missing | default('x')")).toBe('x');
    expect(evaluate("missing.a.b | d('x')")).toBe('x');
    expect(evaluate('result.stdout_lines | default([]) | length')).toBe(0);
    expect(evaluate("'' | default('x', true)")).toBe('x');
    expect(evaluate("'' | default('x')")).toBe('');
    expect(evaluate('false and missing')).toBe(false);
    expect(evaluate('true or missing')).toBe(true);
    expect(evaluate('missing is defined and missing > 1')).toBe(false);
    expect(evaluate('1 if true else missing')).toBe(1);
  });

  test('using undefined anywhere else fails', () => {
    for (const expr of ['missing + 1', 'missing == 1', 'not missing', '[missing]', 'missing | length', 'true and missing', "'x' ~ missing"]) {
      expect(errorOf(() => evaluate(expr))).toBeInstanceOf(UndefinedVariableError);
    }
  });

  test('mandatory fails with its message', () => {
    expect(errorOf(() => evaluate('missing | mandatory')).message).toBe("Mandatory variable 'missing' not defined.");
    expect(errorOf(() => evaluate("missing | mandatory('set missing in group_vars')")).message).toBe('set missing in group_vars');
    expect(evaluate('name | mandatory')).toBe('web');
  });
});

describe('syntax errors', () => {
  test('name the expression, the column and what was expected', () => {
    const error = errorOf(() => evaluate('result.rc =='));
    expect(error).toBeInstanceOf(TemplateSyntaxError);
    expect(error.pos).toEqual(at);
    expect(error.message).toBe('syntax error in expression at column 13: expected a value, found end of expression\n    result.rc ==\n                ^');
  });

  test.each([
    ['a b', "column 3: expected an operator or end of expression, found 'b'"],
    ['(a', "column 3: expected ')' to close the parenthesis, found end of expression"],
    ["'open", 'column 1: unterminated string'],
    ['a ? b', "column 3: unexpected character '?'"],
    ['[1, 2', "column 6: expected ']' to close the list"],
    ['a.', "column 3: expected an attribute name after '.'"],
    ['', 'column 1: expected an expression, found nothing'],
  ])('%s', (expr, fragment) => {
    expect(errorOf(() => evaluate(expr)).message).toContain(fragment);
  });

  test('an unknown filter or test suggests the closest name', () => {
    const filter = errorOf(() => evaluate('name | to_jsn'));
    expect(filter.message).toContain("column 8: unknown filter 'to_jsn'");
    expect(filter.hint).toBe("did you mean 'to_json'?");
    expect(errorOf(() => evaluate('name is defind')).hint).toBe("did you mean 'defined'?");
  });

  test('never evaluates JavaScript', () => {
    const exitCall = `${['process', 'exit'].join('.')}(1)`;
    expect(errorOf(() => evaluate(exitCall))).toBeInstanceOf(UndefinedVariableError);
    expect(errorOf(() => evaluate('(() => 1)()'))).toBeInstanceOf(TemplateSyntaxError);
  });
});

test('a __proto__ key is an ordinary key, not a prototype', () => {
  const made = evaluate("{'__proto__': {'polluted': 1}} | combine({'x': 1})") as Record<string, unknown>;
  expect(Object.keys(made)).toEqual(['__proto__', 'x']);
  expect(Object.getPrototypeOf(made)).toBe(Object.prototype);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
