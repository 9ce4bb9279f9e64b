/**
 * A few cheap facts in one round trip: OS, architecture, init system, and which
 * container runtimes are present — a runtime counts when its daemon is installed and
 * configured or running, not when only a client (a docker CLI) is there. Exposed as `ansible_facts` and the usual `ansible_*` names.
 */
import type { Transport } from '../transport/types.js';
import type { Vars } from '../playbook/model.js';

const FACTS_SCRIPT = `
echo "system=$(uname -s)"
echo "kernel=$(uname -r)"
echo "architecture=$(uname -m)"
echo "hostname=$(uname -n)"
echo "fqdn=$(hostname -f 2>/dev/null || uname -n)"
if [ -r /etc/os-release ]; then . /etc/os-release; echo "os_id=$ID"; echo "os_like=$ID_LIKE"; echo "os_version=$VERSION_ID"; echo "os_name=$NAME"; echo "os_codename=$VERSION_CODENAME"; fi
if [ -d /run/systemd/system ]; then echo "service_mgr=systemd"; else echo "service_mgr=$(cat /proc/1/comm 2>/dev/null || echo unknown)"; fi
echo "user_id=$(id -un)"
echo "user_uid=$(id -u)"
echo "user_dir=$HOME"
command -v k3s >/dev/null 2>&1 && echo "runtime=k3s"
command -v containerd >/dev/null 2>&1 && { [ -S /run/containerd/containerd.sock ] || [ -f /etc/containerd/config.toml ]; } && echo "runtime=containerd"
{ command -v dockerd >/dev/null 2>&1 || [ -S /var/run/docker.sock ]; } && echo "runtime=docker"
command -v crio >/dev/null 2>&1 && echo "runtime=crio"
true`;

const OS_FAMILY: Record<string, string> = {
  debian: 'Debian',
  ubuntu: 'Debian',
  raspbian: 'Debian',
  linuxmint: 'Debian',
  rhel: 'RedHat',
  centos: 'RedHat',
  fedora: 'RedHat',
  rocky: 'RedHat',
  almalinux: 'RedHat',
  alpine: 'Alpine',
  arch: 'Archlinux',
  opensuse: 'Suse',
  sles: 'Suse',
};

export async function gatherFacts(transport: Transport): Promise<Vars> {
  const result = await transport.exec(FACTS_SCRIPT);
  const raw: Record<string, string> = {};
  const runtimes = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    if (key.startsWith('runtime')) {
      if (value) runtimes.add(value);
    } else {
      raw[key] = value;
    }
  }
  const distribution = raw.os_name?.split(' ')[0] ?? raw.system ?? 'Unknown';
  const facts: Vars = {
    system: raw.system,
    kernel: raw.kernel,
    architecture: raw.architecture,
    hostname: raw.hostname,
    fqdn: raw.fqdn,
    distribution,
    distribution_version: raw.os_version ?? '',
    distribution_release: raw.os_codename ?? '',
    os_family: OS_FAMILY[raw.os_id ?? ''] ?? OS_FAMILY[(raw.os_like ?? '').split(' ')[0] ?? ''] ?? raw.system,
    service_mgr: raw.service_mgr,
    user_id: raw.user_id,
    user_uid: Number(raw.user_uid),
    user_dir: raw.user_dir,
    container_runtimes: [...runtimes].sort(),
  };
  return facts;
}

/** Facts as variables: `ansible_facts.x` and the legacy top-level `ansible_x`. */
export function factVariables(facts: Vars): Vars {
  const vars: Vars = { ansible_facts: facts };
  for (const [key, value] of Object.entries(facts)) vars[`ansible_${key}`] = value;
  return vars;
}
