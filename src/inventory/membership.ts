/**
 * Who is in what: a group's hosts through its descendants, a host's groups through their
 * ancestors, and each group's depth (the longest path from `all`, as Ansible counts it).
 */
import type { Inventory } from './types.js';

/** Every host of a group, its descendants' included, in inventory order. */
export function hostsOfGroup(inv: Inventory, groupName: string): string[] {
  if (groupName === 'all') return [...inv.hosts.keys()];
  const members = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string) => {
    const group = inv.groups.get(name);
    if (!group || seen.has(name)) return;
    seen.add(name);
    for (const host of group.hosts) members.add(host);
    group.children.forEach(visit);
  };
  visit(groupName);
  return [...inv.hosts.keys()].filter((host) => members.has(host));
}

export function groupDepths(inv: Inventory): Map<string, number> {
  const depths = new Map<string, number>([['all', 0]]);
  const visit = (name: string, depth: number) => {
    for (const child of inv.groups.get(name)?.children ?? []) {
      if ((depths.get(child) ?? -1) < depth + 1) {
        depths.set(child, depth + 1);
        visit(child, depth + 1);
      }
    }
  };
  visit('all', 0);
  // A group that is nobody's child (before reconciliation) sits right under `all`.
  for (const name of inv.groups.keys()) if (!depths.has(name)) depths.set(name, 1);
  return depths;
}

/** `ansible_group_priority` from a group's inventory vars (default 1), as Ansible sorts by it. */
function priorityOf(inv: Inventory, name: string): number {
  const value = Number(inv.groups.get(name)?.vars.ansible_group_priority ?? 1);
  return Number.isFinite(value) ? value : 1;
}

/**
 * Every group the host is in, ancestors included: `all` first, then the others in the
 * order their variables apply (shallow before deep, then `ansible_group_priority`, then
 * name), which is Ansible's `sort_groups`.
 */
export function groupsOfHost(inv: Inventory, host: string): string[] {
  if (!inv.hosts.has(host)) return [];
  const parents = new Map<string, string[]>();
  for (const group of inv.groups.values()) {
    for (const child of group.children) parents.set(child, [...(parents.get(child) ?? []), group.name]);
  }
  const found = new Set<string>();
  const climb = (name: string) => {
    if (found.has(name)) return;
    found.add(name);
    (parents.get(name) ?? []).forEach(climb);
  };
  for (const group of inv.groups.values()) {
    if (group.name !== 'all' && group.hosts.includes(host)) climb(group.name);
  }
  found.delete('all');
  const depths = groupDepths(inv);
  const ordered = [...found].sort((a, b) => depths.get(a)! - depths.get(b)! || priorityOf(inv, a) - priorityOf(inv, b) || (a < b ? -1 : a > b ? 1 : 0));
  return ['all', ...ordered];
}
