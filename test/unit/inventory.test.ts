import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { groupsOfHost, hostVariables, loadInventory, type Inventory } from '../../src/inventory/index.js';
import { InputError } from '../../src/input-error.js';

const fixtures = resolve('test/fixtures/inventory');
const fixture = (path: string) => resolve(fixtures, path);

function inputError(action: () => unknown): InputError {
  try {
    action();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('INI inventory', () => {
  let inv: Inventory;
  beforeAll(() => {
    inv = loadInventory([fixture('ini/hosts.ini')]);
  });

  test('hosts come in inventory order with ranges expanded (numeric, zero-padded, stepped, letters, several)', () => {
    expect([...inv.hosts.keys()]).toEqual([
      'bastion',
      'lonely',
      'web01',
      'web02',
      'web03',
      'web04',
      'db-a',
      'db-b',
      'db-c',
      'node1-disk01',
      'node1-disk03',
      'node2-disk01',
      'node2-disk03',
      '2001:db8::10',
      '2001:db8::11',
    ]);
    expect(inv.sources).toEqual([fixture('ini/hosts.ini')]);
  });

  test('hosts before any section are ungrouped until a group claims them', () => {
    expect(inv.groups.get('ungrouped')!.hosts).toEqual(['lonely']);
    expect(inv.groups.get('db')!.hosts).toContain('bastion');
    expect(inv.hosts.get('bastion')!.vars).toEqual({ ansible_host: '10.0.0.1', ansible_user: 'admin' });
  });

  test('implicit all has every host and the top-level groups as children', () => {
    expect(inv.groups.get('all')!.hosts).toHaveLength(inv.hosts.size);
    expect(inv.groups.get('all')!.children).toEqual(['ungrouped', 'v6', 'prod']);
  });

  test('[group:children] nests groups, including one declared later in the file', () => {
    expect(inv.groups.get('prod')!.children).toEqual(['web', 'db', 'edge']);
    expect(inv.groups.get('edge')!.hosts).toEqual([]);
  });

  test('inline host vars are Python literals: numbers, booleans, None, lists, dicts, quoted strings', () => {
    expect(inv.hosts.get('web04')!.vars).toEqual({
      ansible_port: 2222,
      ansible_host: '10.0.0.14',
      note: 'two words',
      quoted: 'x',
      flag: true,
      count: 22,
      ratio: 0.5,
      nothing: null,
      items: [1, 'two'],
      mapping: { a: 1 },
      plain: 'ubuntu',
      secret: '03#pa33w0rd',
      cut: 'ab', // '#' outside quotes starts a comment, even mid-word, as in Ansible
    });
  });

  test('host:port sets ansible_port, also for a bracketed IPv6 address', () => {
    expect(inv.hosts.get('2001:db8::10')!.vars).toEqual({ ansible_port: 2200 });
    expect(inv.hosts.get('2001:db8::11')!.vars).toEqual({});
  });

  test('[group:vars] values are Python literals too; a trailing comment survives only on non-literals', () => {
    expect(inv.groups.get('web')!.vars).toEqual({
      proxy: 'proxy.example.com',
      timeout: 30,
      enabled: false,
      literal_comment: 23,
      text_comment: 'abc # not a literal: kept whole, as Ansible does',
    });
    expect(inv.groups.get('all')!.vars).toEqual({ ntp: 'pool.ntp.org' });
  });

  test('groupsOfHost lists all first, then ancestors before descendants', () => {
    expect(groupsOfHost(inv, 'web01')).toEqual(['all', 'prod', 'web']);
    expect(groupsOfHost(inv, 'lonely')).toEqual(['all', 'ungrouped']);
    expect(groupsOfHost(inv, 'nope')).toEqual([]);
  });
});

describe('YAML inventory', () => {
  let inv: Inventory;
  beforeAll(() => {
    inv = loadInventory([fixture('yaml/hosts.yml')]);
  });

  test('groups, children, vars and ranged host names with ports', () => {
    expect([...inv.hosts.keys()]).toEqual(['bastion', 'k3s-server1', 'k3s-server2', 'k3s-agenta', 'k3s-agentb', 'registry']);
    expect(inv.groups.get('k3s')!.children).toEqual(['server', 'agent']);
    expect(inv.groups.get('k3s')!.vars).toEqual({ k3s_version: 'v1.30.0' });
    expect(inv.hosts.get('k3s-server1')!.vars).toEqual({ role: 'server' });
    expect(inv.hosts.get('k3s-agentb')!.vars).toEqual({ ansible_port: 2222 });
    expect(inv.groups.get('agent')!.vars).toEqual({ role: 'agent' });
  });

  test('a single host name written without a colon, and an empty group', () => {
    expect(inv.groups.get('mirror')!.hosts).toEqual(['registry']);
    expect(inv.groups.get('empty')).toEqual({ name: 'empty', vars: {}, hosts: [], children: [] });
  });

  test('a host listed directly under all is ungrouped', () => {
    expect(inv.groups.get('ungrouped')!.hosts).toEqual(['bastion']);
    expect(inv.groups.get('all')!.vars).toEqual({ ntp: 'pool.ntp.org' });
  });

  test('a YAML file without extension is recognised by its content', () => {
    const detected = loadInventory([fixture('yaml/inventory')]);
    expect([...detected.hosts.keys()]).toEqual(['detected1', 'detected2']);
    expect(detected.hosts.get('detected2')!.vars).toEqual({ port_note: 'yaml' });
  });
});

describe('inventory sources', () => {
  test('a directory reads every inventory file in name order, recursively, skipping .md, .retry, .bak and vars dirs', () => {
    const inv = loadInventory([fixture('dir')]);
    expect(inv.sources).toEqual([fixture('dir/01-hosts.ini'), fixture('dir/02-more.yml'), fixture('dir/nested/hosts')]);
    expect([...inv.hosts.keys()]).toEqual(['web1', 'web2', 'web3', 'db1', 'edge1']);
    expect(inv.groups.get('web')!.hosts).toEqual(['web1', 'web2', 'web3']);
    expect(inv.groups.has('stale')).toBe(false);
  });

  test("a directory's own group_vars/ and host_vars/ apply (a vars file may have no extension)", () => {
    const inv = loadInventory([fixture('dir')]);
    expect(hostVariables(inv, 'web3').tier).toBe('frontend');
    expect(hostVariables(inv, 'db1').tier).toBe('database');
  });

  test('an inline comma list gives ungrouped hosts, with ports and ranges', () => {
    const inv = loadInventory(['alpha,beta:2222,node[1:2]']);
    expect([...inv.hosts.keys()]).toEqual(['alpha', 'beta', 'node1', 'node2']);
    expect(inv.hosts.get('beta')!.vars).toEqual({ ansible_port: 2222 });
    expect(inv.groups.get('ungrouped')!.hosts).toEqual(['alpha', 'beta', 'node1', 'node2']);
    expect(inv.sources).toEqual([]);
  });

  test('a single host needs the trailing comma', () => {
    expect([...loadInventory(['solo,']).hosts.keys()]).toEqual(['solo']);
    expect(inputError(() => loadInventory(['solo'])).message).toBe("inventory source 'solo' does not exist");
  });

  test('several sources combine; a group declared in an earlier source may be a child in a later one', () => {
    const inv = loadInventory([fixture('ini/hosts.ini'), fixture('dir')]);
    expect(inv.groups.get('web')!.hosts).toEqual(['web01', 'web02', 'web03', 'web04', 'web1', 'web2', 'web3']);
    expect(inv.varsDirs).toEqual([fixture('ini'), fixture('dir')]);
  });
});

describe('hostVariables precedence (lowest to highest)', () => {
  const inv = loadInventory([fixture('precedence/inventory/hosts.ini')]);
  const vars = hostVariables(inv, 'h1', { playbookDir: fixture('precedence/playbook') });
  // Layer k sets L<k>..L12, so L<k> holding layer k's name shows layer k beats every lower one.
  test.each([
    ['L01', 'all-inventory-file'],
    ['L02', 'prod-inventory-file'],
    ['L03', 'web-inventory-file'],
    ['L04', 'inventory-group_vars-all'],
    ['L05', 'playbook-group_vars-all'],
    ['L06', 'inventory-group_vars-prod'],
    ['L07', 'inventory-group_vars-web'],
    ['L08', 'playbook-group_vars-prod'],
    ['L09', 'playbook-group_vars-web'],
    ['L10', 'host-inventory-file'],
    ['L11', 'inventory-host_vars'],
    ['L12', 'playbook-host_vars'],
  ])('%s comes from %s', (name, layer) => {
    expect(vars[name]).toBe(layer);
  });

  test('groups at the same depth apply in alphabetical order (bbb beats aaa)', () => {
    expect(vars.same_depth).toBe('bbb');
  });

  test('files of a group_vars directory merge in name order; hidden files are skipped', () => {
    expect(vars.merge_order).toBe('second');
    expect(vars.only_first).toBe(1);
  });

  test('group_vars/web/ is found before group_vars/web.yml, which is then not read (as Ansible)', () => {
    expect(vars).not.toHaveProperty('shadowed');
  });

  test('without a playbook dir, only the inventory side applies', () => {
    const inventoryOnly = hostVariables(inv, 'h1');
    expect(inventoryOnly.L05).toBe('inventory-group_vars-all');
    expect(inventoryOnly.L12).toBe('inventory-host_vars');
  });

  test('magic variables: inventory_hostname(_short), group_names, groups, inventory_file', () => {
    expect(vars.inventory_hostname).toBe('h1');
    expect(vars.inventory_hostname_short).toBe('h1');
    expect(vars.group_names).toEqual(['aaa', 'bbb', 'prod', 'web']);
    expect(vars.groups).toEqual({ all: ['h1'], ungrouped: [], web: ['h1'], aaa: ['h1'], bbb: ['h1'], prod: ['h1'] });
    expect(vars.inventory_file).toBe(fixture('precedence/inventory/hosts.ini'));
    expect(vars.inventory_dir).toBe(fixture('precedence/inventory'));
  });

  test('inventory_hostname_short cuts a name (not an address) at the first dot; an ungrouped host has group_names [ungrouped]', () => {
    const inline = loadInventory(['db1.example.com,']);
    const hostVars = hostVariables(inline, 'db1.example.com');
    expect(hostVars.inventory_hostname_short).toBe('db1');
    expect(hostVars.group_names).toEqual(['ungrouped']);
    expect(hostVariables(loadInventory(['10.0.0.7,']), '10.0.0.7').inventory_hostname_short).toBe('10.0.0.7');
  });

  test('the merge is shallow: a mapping from a higher layer replaces the whole mapping', () => {
    expect(vars.settings).toEqual({ b: 3 });
  });

  test('group_vars/ and host_vars/ beside an INI file apply to its hosts only where named', () => {
    const ini = loadInventory([fixture('ini/hosts.ini')]);
    expect(hostVariables(ini, 'web04').from_group_vars_web).toBe(true);
    expect(hostVariables(ini, 'web01').from_host_vars).toBe('web01');
    expect(hostVariables(ini, 'web02')).not.toHaveProperty('from_host_vars');
    expect(hostVariables(ini, 'db-a')).not.toHaveProperty('from_group_vars_web');
  });

  test('variables files are read once per inventory, not once per host', () => {
    const copy = mkdtempSync(join(tmpdir(), 'inventory-'));
    try {
      cpSync(fixture('ini'), copy, { recursive: true });
      const copied = loadInventory([join(copy, 'hosts.ini')]);
      expect(hostVariables(copied, 'web01').from_group_vars_web).toBe(true);
      rmSync(join(copy, 'group_vars'), { recursive: true });
      expect(hostVariables(copied, 'web02').from_group_vars_web).toBe(true);
      // A new load reads the directory afresh.
      expect(hostVariables(loadInventory([join(copy, 'hosts.ini')]), 'web02')).not.toHaveProperty('from_group_vars_web');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
