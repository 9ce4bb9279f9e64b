export type { Inventory, InventoryGroup, InventoryHost } from './types.js';
export { loadInventory } from './load.js';
export { hostVariables } from './variables.js';
export { selectHosts, splitPattern } from './patterns.js';
export { groupsOfHost, hostsOfGroup } from './membership.js';
export { parseIniValue } from './python-literal.js';
