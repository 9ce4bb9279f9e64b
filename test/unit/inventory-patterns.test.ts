import { resolve } from 'node:path';
import { loadInventory, selectHosts, splitPattern } from '../../src/inventory/index.js';

const inv = loadInventory([resolve('test/fixtures/inventory/ini/hosts.ini')]);
const web = ['web01', 'web02', 'web03', 'web04'];
const db = ['bastion', 'db-a', 'db-b', 'db-c', 'node1-disk01', 'node1-disk03', 'node2-disk01', 'node2-disk03'];
const everyHost = [...inv.hosts.keys()];

describe('selectHosts', () => {
  test.each([
    ['all', everyHost],
    ['*', everyHost],
    ['web', web],
    ['web03', ['web03']],
    ['ungrouped', ['lonely']],
    ['prod:&db', db],
    ['prod:!db', web],
    ['web0*', web],
    ['db-[ab]', ['db-a', 'db-b']],
    ['~web0[12]', ['web01', 'web02']],
    ['~node\\d-disk03', ['node1-disk03', 'node2-disk03']],
    ['web[0]', ['web01']],
    ['web[1:2]', ['web02', 'web03']],
    ['web[-1]', ['web04']],
    ['web[9]', []],
    ['2001:db8::10', ['2001:db8::10']],
    ['no-such-group', []],
  ])('%s', (pattern, expected) => {
    expect(selectHosts(inv, pattern)).toEqual(expected);
  });

  test('a:b and a,b are unions, in inventory order, without duplicates', () => {
    const expected = ['bastion', ...web, ...db.slice(1)];
    expect(selectHosts(inv, 'web:db')).toEqual(expected);
    expect(selectHosts(inv, 'db,web')).toEqual(expected);
    expect(selectHosts(inv, 'web:web01:web*')).toEqual(web);
  });

  test('unions apply before intersections and exclusions, whatever the written order', () => {
    expect(selectHosts(inv, '!web02:web')).toEqual(['web01', 'web03', 'web04']);
    expect(selectHosts(inv, '&prod:lonely:web01')).toEqual(['web01']);
  });

  test('only exclusions start from all', () => {
    expect(selectHosts(inv, '!prod')).toEqual(['lonely', '2001:db8::10', '2001:db8::11']);
  });

  test('a limit narrows the pattern with the same language', () => {
    expect(selectHosts(inv, 'prod', 'web:!web02')).toEqual(['web01', 'web03', 'web04']);
    expect(selectHosts(inv, 'web', 'db')).toEqual([]);
    expect(selectHosts(inv, 'web', '')).toEqual(web);
  });

  test('a limit @file lists one host per line', () => {
    expect(selectHosts(inv, 'all', '@test/fixtures/inventory/limit.txt')).toEqual(['web01', 'web03', 'db-a']);
    expect(selectHosts(inv, 'web', '@test/fixtures/inventory/limit.txt')).toEqual(['web01', 'web03']);
  });

  test('an empty limit file selects nothing rather than everything', () => {
    expect(selectHosts(inv, 'all', '@test/fixtures/inventory/empty-limit.txt')).toEqual([]);
  });
});

describe('splitPattern', () => {
  test('splits on commas, else on colons outside brackets; IPv6 addresses stay whole', () => {
    expect(splitPattern('web:&prod:!web[1:2]')).toEqual(['web', '&prod', '!web[1:2]']);
    expect(splitPattern('a, b ,c')).toEqual(['a', 'b', 'c']);
    expect(splitPattern('2001:db8::1')).toEqual(['2001:db8::1']);
  });
});
