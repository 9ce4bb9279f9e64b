import { evaluateExpression } from '../../src/template/index.js';

const vars = {
  text: '  Hello World  ',
  path: '/etc/containerd/certs.d/docker.io/hosts.toml',
  list: [3, 1, 2, 3],
  users: [
    { name: 'bob', admin: false, uid: 1002 },
    { name: 'alice', admin: true, uid: 1001 },
  ],
  data: { registry: { port: 5000, hosts: ['a', 'b'] }, name: 'mirror' },
};
const evaluate = (expr: string) => evaluateExpression(expr, vars);

test.each([
  ["'yes' | bool", true],
  ["'off' | bool", false],
  ['1 | bool', true],
  ["'True' | bool", true],
  ["'42' | int", 42],
  ["'4.7' | int", 4],
  ["'x' | int", 0],
  ["'x' | int(7)", 7],
  ["'ff' | int(base=16)", 255],
  ["'1.5' | float", 1.5],
  ['42 | string', '42'],
  ['true | string', 'True'],
  ['list | length', 4],
  ['data | count', 2],
  ['text | lower', '  hello world  '],
  ['text | upper | trim', 'HELLO WORLD'],
  ["text | trim | replace('World', 'There')", 'Hello There'],
  ["'v1.2.3' | regex_replace('^v(\\\\d+)\\\\..*$', '\\\\1')", '1'],
  ["'a-b-c' | regex_replace('-', '_')", 'a_b_c'],
  ["'ABC' | regex_replace('b', 'x', ignorecase=true)", 'AxC'],
  ["'port=5000' | regex_search('\\\\d+')", '5000'],
  ["'port=5000' | regex_search('(\\\\w+)=(\\\\d+)', '\\\\2')", ['5000']],
  ["'none' | regex_search('\\\\d+')", null],
  ["['a', 'b'] | join(',')", 'a,b'],
  ["'a,b' | split(',')", ['a', 'b']],
  ['list | first', 3],
  ['list | last', 3],
  ['list | unique', [3, 1, 2]],
  ['list | sort', [1, 2, 3, 3]],
  ['list | sort(reverse=true)', [3, 3, 2, 1]],
  ["users | sort(attribute='uid') | map(attribute='name') | list", ['alice', 'bob']],
  ["users | selectattr('admin') | map(attribute='name') | first", 'alice'],
  ["users | rejectattr('name', 'equalto', 'bob') | length", 1],
  ["list | select('odd') | list", [3, 1, 3]],
  ["['a', 'b'] | map('upper') | list", ['A', 'B']],
  ["'ab' | list", ['a', 'b']],
  [
    'data.registry | dict2items',
    [
      { key: 'port', value: 5000 },
      { key: 'hosts', value: ['a', 'b'] },
    ],
  ],
  ["[{'key': 'a', 'value': 1}] | items2dict", { a: 1 }],
  ["{'a': {'x': 1}, 'b': 2} | combine({'a': {'y': 2}})", { a: { y: 2 }, b: 2 }],
  ["{'a': {'x': 1}} | combine({'a': {'y': 2}}, recursive=true)", { a: { x: 1, y: 2 } }],
  ["{'l': [1]} | combine({'l': [2]}, list_merge='append')", { l: [1, 2] }],
  ['data.registry | to_json', '{"port": 5000, "hosts": ["a", "b"]}'],
  ["{'b': 1, 'a': [1]} | to_nice_json", '{\n    "a": [\n        1\n    ],\n    "b": 1\n}'],
  ["{'b': 1, 'a': [1]} | to_nice_json(indent=2)", '{\n  "a": [\n    1\n  ],\n  "b": 1\n}'],
  ['data.registry | to_yaml', 'port: 5000\nhosts:\n  - a\n  - b\n'],
  ["{'b': {'c': 1}, 'a': 2} | to_nice_yaml", 'a: 2\nb:\n    c: 1\n'],
  ['\'{"a": [1, null]}\' | from_json', { a: [1, null] }],
  ["'a: 1\\nb: [x]' | from_yaml", { a: 1, b: ['x'] }],
  ["'hello' | b64encode", 'aGVsbG8='],
  ["'aGVsbG8=' | b64decode", 'hello'],
  ["'a\\nb\\n\\nc' | indent(2)", 'a\n  b\n\n  c'],
  ["'a\\nb' | indent(2, true)", '  a\n  b'],
  ["'a\\nb' | indent(width=3, first=true)", '   a\n   b'],
  ['path | basename', 'hosts.toml'],
  ['path | dirname', '/etc/containerd/certs.d/docker.io'],
  ["'file' | dirname", ''],
  ["'plain' | quote", 'plain'],
  ['"it\'s here" | quote', "'it'\\''s here'"],
  ["'' | quote", "''"],
  ["'abc' | hash('sha256')", 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ["'abc' | hash('md5')", '900150983cd24fb0d6963f7d28e17f72'],
  ["'abc' | checksum", 'a9993e364706816aba3e25717850c26c9cd0d89d'],
  ["true | ternary('on', 'off')", 'on'],
  ["0 | ternary('on', 'off')", 'off'],
  ["none | ternary('on', 'off', 'unset')", 'unset'],
  ['[[1, [2]], 3] | flatten', [1, 2, 3]],
  ['[1, 2] | union([2, 3])', [1, 2, 3]],
  ['[1, 2] | difference([2])', [1]],
  ['[1, 2] | intersect([2, 3])', [2]],
  ['list | max', 3],
  ['list | min', 1],
  ['list | sum', 9],
  ['3.14159 | round(2)', 3.14],
  ['2.5 | round', 3],
  ["'%s-%03d' | format('node', 7)", 'node-007'],
  ["'[%-4s][%4s]' | format('a', 'b')", '[a   ][   b]'],
  ['data | type_debug', 'dict'],
  ["'x' | ansible.builtin.upper", 'X'],
])('%s', (expr, expected) => {
  expect(evaluate(expr)).toEqual(expected);
});

test('filter errors name the filter and the expression', () => {
  expect(() => evaluate('data | first')).not.toThrow();
  expect(() => evaluate('5 | dict2items')).toThrow("filter 'dict2items': 'dict2items' expects a dict, got int (in '5 | dict2items')");
  expect(() => evaluate("'{' | from_json")).toThrow("filter 'from_json': from_json: not valid JSON");
  expect(() => evaluate("'a' | regex_replace('(', 'x')")).toThrow("invalid regular expression '('");
  expect(() => evaluate('5 | length')).toThrow("object of type 'int' has no length");
});

test('first of an empty list is undefined, so default applies', () => {
  expect(evaluate("[] | first | default('none')")).toBe('none');
  expect(() => evaluate('[] | first')).toThrow("'first' is undefined: the list is empty");
});
