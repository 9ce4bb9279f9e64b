import bcrypt from 'bcryptjs';
import { evaluateExpression } from '../../src/template/index.js';

const vars = { secret: 's3cret!', salt: 'abcdefghijklmnopqrstuu', ip: '198.51.100.10' };
const evaluate = (expr: string) => evaluateExpression(expr, vars);

describe('password_hash', () => {
  test('bcrypt output verifies against the password', () => {
    const hash = String(evaluate("secret | password_hash('bcrypt', rounds=4)"));
    expect(hash).toMatch(/^\$2b\$04\$/);
    expect(bcrypt.compareSync('s3cret!', hash)).toBe(true);
    expect(bcrypt.compareSync('other', hash)).toBe(false);
  });

  test('a given salt gives the same hash every time', () => {
    const first = evaluate("secret | password_hash('bcrypt', salt, rounds=5)");
    const second = evaluate("secret | password_hash('bcrypt', salt=salt, rounds=5)");
    expect(first).toBe(second);
    expect(String(first).startsWith('$2b$05$abcdefghijklmnopqrstuu')).toBe(true);
  });

  test('without a salt every hash differs', () => {
    expect(evaluate("secret | password_hash('bcrypt', rounds=4)")).not.toBe(evaluate("secret | password_hash('bcrypt', rounds=4)"));
  });

  test('ident chooses the prefix htpasswd tools write', () => {
    expect(String(evaluate("secret | password_hash('bcrypt', salt, rounds=4, ident='2y')"))).toMatch(/^\$2y\$04\$/);
  });

  test.each([
    ["secret | password_hash('sha512')", /hash type 'sha512' is not supported/],
    ["secret | password_hash('bcrypt', 'short')", /22 characters/],
    ["secret | password_hash('bcrypt', rounds=40)", /rounds must be an integer from 4 to 31/],
  ])('%s fails saying why', (expr, message) => {
    expect(() => evaluate(expr)).toThrow(message);
  });
});

describe('ipaddr filters', () => {
  test.each([
    ['ip | ipaddr', '198.51.100.10'],
    ["'not-an-ip' | ipaddr", false],
    ["'' | ipaddr", false],
    ["'300.1.1.1' | ipaddr", false],
    ["'198.51.100.0/24' | ipaddr", '198.51.100.0/24'],
    ["'198.51.100.0/33' | ipaddr", false],
    ["'198.51.100.7/24' | ipaddr('address')", '198.51.100.7'],
    ["'198.51.100.0/24' | ipaddr('address')", false],
    ["'2001:db8::1' | ansible.utils.ipaddr", '2001:db8::1'],
    ["'2001:db8::/32' | ipaddr('address')", false],
    ["'2001:db8::5/64' | ipaddr('address')", '2001:db8::5'],
    ["ip | ipaddr('bool')", true],
    ["'x' | ipaddr('bool')", false],
    ["ip | ipaddr('version')", 4],
    ["'10.0.0.0/8' | ipaddr('prefix')", 8],
    ['ip | ipv4', '198.51.100.10'],
    ['ip | ipv6', false],
    ["'::1' | ipv6", '::1'],
    ["['198.51.100.1', 'nope', '::1'] | ipaddr", ['198.51.100.1', '::1']],
  ])('%s', (expr, expected) => {
    expect(evaluate(expr)).toEqual(expected);
  });

  test('an unknown query is named', () => {
    expect(() => evaluate("ip | ipaddr('wat')")).toThrow(/query 'wat' is not supported/);
  });
});

describe('ip tests', () => {
  test.each([
    ['ip is ip_address', true],
    ["'198.51.100.0/24' is ip_address", false],
    ["'198.51.100.0/24' is ip", true],
    ["'not-an-ip' is ansible.utils.ip", false],
    ['ip is ipv4_address', true],
    ['ip is ipv6_address', false],
    ["'fe80::1' is ipv6", true],
    ['5000 is ip_address', false],
    ["'not-an-ip' is not ip_address", true],
  ])('%s', (expr, expected) => {
    expect(evaluate(expr)).toBe(expected);
  });
});
