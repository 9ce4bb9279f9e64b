export interface InventoryHost {
  name: string;
  /** Inline and host-level variables from the inventory source (later definitions win). */
  vars: Record<string, unknown>;
  /** The inventory source that first defined the host (`inventory_file`), if a file. */
  source?: string;
}

export interface InventoryGroup {
  name: string;
  vars: Record<string, unknown>;
  /** Direct members, in inventory order. For `all`: every host. */
  hosts: string[];
  children: string[];
}

export interface Inventory {
  /** In inventory order (first definition). */
  hosts: Map<string, InventoryHost>;
  groups: Map<string, InventoryGroup>;
  /** The inventory files read. */
  sources: string[];
  /** Directories whose `group_vars/` and `host_vars/` apply, in source order. */
  varsDirs: string[];
}
