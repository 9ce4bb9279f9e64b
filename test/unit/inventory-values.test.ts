import { parseIniValue } from '../../src/inventory/index.js';

describe('INI values are Python literals, or else the text itself (as Ansible)', () => {
  test.each<[string, unknown]>([
    ['22', 22],
    ['-5', -5],
    ['0x1F', 31],
    ['0o17', 15],
    ['1_000', 1000],
    ['1.5', 1.5],
    ['1e3', 1000],
    ['True', true],
    ['False', false],
    ['None', null],
    ["'x'", 'x'],
    ['"two words"', 'two words'],
    ["'a' 'b'", 'ab'],
    ["'tab\\there'", 'tab\there'],
    ["r'raw\\n'", 'raw\\n'],
    ["b'bytes'", 'bytes'],
    ["[1, 'two', None]", [1, 'two', null]],
    ['(1, 2)', [1, 2]],
    ['(7)', 7],
    ['1, 2', [1, 2]],
    ["{'a': {'b': [True]}}", { a: { b: [true] } }],
    ['{}', {}],
    ['{1, 2}', [1, 2]],
    ['23 # a comment', 23],
    ['12345678901234567890', '12345678901234567890'],
  ])('%s', (text, expected) => {
    expect(parseIniValue(text)).toEqual(expected);
  });

  test.each([
    'ubuntu',
    'true', // Python's booleans are capitalised
    'yes',
    '010', // leading zeros are not a Python literal
    '10.0.0.1',
    'v1.30.0',
    '1abc',
    '1j',
    "f'{x}'",
    "'unclosed",
    'a b',
    'abc # not a literal',
    '',
    '1 + 2',
    '[1, 2',
  ])('%s stays a string', (text) => {
    expect(parseIniValue(text)).toBe(text);
  });
});
