/**
 * One transport per host for the whole run, opened on first use from the host's
 * connection variables (ansible_host, ansible_port, ansible_user, ...).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { HostKeyChecking } from '../transport/known-hosts.js';
import { LocalTransport } from '../transport/local.js';
import { SshTransport, type SshEndpoint } from '../transport/ssh.js';
import { UnreachableError, type Transport } from '../transport/types.js';
import type { Vars } from '../playbook/model.js';

export interface ConnectionDefaults {
  user?: string;
  privateKeyFile?: string;
  knownHostsFile?: string;
  hostKeyChecking?: HostKeyChecking;
  connectTimeoutMs?: number;
}

const str = (value: unknown): string | undefined => (value === undefined || value === null || value === '' ? undefined : String(value));

/** `ProxyJump` from ansible_ssh_common_args / ansible_ssh_extra_args, or tsrun's ansible_jump_host. */
function jumpHost(vars: Vars): SshEndpoint | undefined {
  let spec = str(vars.ansible_jump_host);
  if (!spec) {
    const args = `${str(vars.ansible_ssh_common_args) ?? ''} ${str(vars.ansible_ssh_extra_args) ?? ''}`;
    const match = /(?:-o\s*ProxyJump=|-J\s*)(\S+)/.exec(args);
    spec = match?.[1]?.replace(/^["']|["']$/g, '');
  }
  if (!spec) return undefined;
  const match = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(spec.split(',')[0]!);
  if (!match) return undefined;
  return {
    user: match[1] ?? str(vars.ansible_jump_user) ?? str(vars.ansible_user) ?? 'root',
    host: match[2]!.replace(/^\[|\]$/g, ''),
    port: Number(match[3] ?? 22),
    privateKeyFile: str(vars.ansible_jump_private_key_file) ?? str(vars.ansible_ssh_private_key_file),
  };
}

export class ConnectionPool {
  private readonly open = new Map<string, Promise<Transport>>();

  constructor(private readonly defaults: ConnectionDefaults) {}

  /**
   * The transport for `host`, connecting on first use; rejects with UnreachableError.
   * Keyed by host and user: a play that connects as another user gets its own connection.
   */
  get(host: string, vars: Vars): Promise<Transport> {
    const user = this.defaults.user ?? str(vars.ansible_user) ?? str(vars.ansible_ssh_user) ?? '';
    const key = `${host}\0${user}`;
    let transport = this.open.get(key);
    if (!transport) {
      transport = this.connect(host, vars);
      this.open.set(key, transport);
    }
    return transport;
  }

  private async connect(host: string, vars: Vars): Promise<Transport> {
    const connection = str(vars.ansible_connection) ?? (host === 'localhost' || host === '127.0.0.1' ? 'local' : 'ssh');
    if (connection === 'local') return new LocalTransport();
    if (connection !== 'ssh' && connection !== 'paramiko' && connection !== 'smart') {
      throw new UnreachableError(`ansible_connection '${connection}' is not supported (use ssh or local)`);
    }
    const checking =
      (str(vars.tsrun_host_key_checking) as HostKeyChecking | undefined) ?? this.defaults.hostKeyChecking ?? hostKeyCheckingFromVars(vars) ?? 'strict';
    return SshTransport.connect({
      host: str(vars.ansible_host) ?? str(vars.ansible_ssh_host) ?? host,
      port: Number(vars.ansible_port ?? vars.ansible_ssh_port ?? 22),
      user: this.defaults.user ?? str(vars.ansible_user) ?? str(vars.ansible_ssh_user) ?? 'root',
      privateKeyFile: this.defaults.privateKeyFile ?? str(vars.ansible_ssh_private_key_file) ?? str(vars.ansible_private_key_file),
      password: str(vars.ansible_password) ?? str(vars.ansible_ssh_pass),
      becomePassword: str(vars.ansible_become_password) ?? str(vars.ansible_become_pass),
      hostKeyChecking: checking,
      knownHostsFile: this.defaults.knownHostsFile ?? str(vars.tsrun_known_hosts) ?? join(homedir(), '.ssh', 'known_hosts'),
      jump: jumpHost(vars),
      connectTimeoutMs: this.defaults.connectTimeoutMs ?? (vars.ansible_timeout ? Number(vars.ansible_timeout) * 1000 : undefined),
    });
  }

  /** Round trips per host so far. */
  async roundTrips(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const [key, pending] of this.open) {
      const transport = await pending.catch(() => undefined);
      const host = key.split('\0')[0]!;
      if (transport) counts[host] = (counts[host] ?? 0) + transport.roundTrips;
    }
    return counts;
  }

  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.open.values()].map((pending) =>
        pending.then(
          (t) => t.close(),
          () => undefined,
        ),
      ),
    );
    this.open.clear();
  }
}

/** Ansible's `ansible_host_key_checking: false` turns checking off. */
function hostKeyCheckingFromVars(vars: Vars): HostKeyChecking | undefined {
  const value = vars.ansible_host_key_checking ?? vars.ansible_ssh_host_key_checking;
  if (value === false || value === 'false' || value === 'False') return 'off';
  return undefined;
}
