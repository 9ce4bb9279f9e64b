/**
 * The lab's Kubernetes control plane, for real: the binaries lab/k8s/build.sh built from
 * the Go module proxy, driven with kubectl as a user would. kwok stands in for the kubelets,
 * so a worker Node becomes Ready and a Deployment's pods Running without containers.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  COMPONENTS,
  controlPlaneStatus,
  defaultBinDir,
  KWOK_NODE_ANNOTATION,
  kubectlPath,
  pinnedVersions,
  startControlPlane,
  stopControlPlane,
  freePort,
  type ControlPlane,
} from '../../lab/src/control-plane.js';

const STATE_DIR = `/var/lib/tsrun/control-plane-test-${randomBytes(4).toString('hex')}`;
const BIN_DIR = defaultBinDir();

/** Start-up and the waits inside the tests are bounded by their own timeouts; these are the backstops. */
const START_TIMEOUT_MS = 300_000;
const STEP_TIMEOUT_MS = 240_000;

let plane: ControlPlane;
let kubectlBinary: string;

/** kubectl against the control plane; rejects with its stderr when it fails. */
function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(kubectlBinary, ['--kubeconfig', plane.kubeconfig, ...args], (error, stdout, stderr) => {
      if (error) reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? '');
  });
}

/** A live process (a zombie has exited: its parent only has not collected it yet). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const WORKER = 'worker-1';

const WORKER_NODE = `
apiVersion: v1
kind: Node
metadata:
  name: ${WORKER}
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    ${KWOK_NODE_ANNOTATION.key}: ${KWOK_NODE_ANNOTATION.value}
  labels:
    beta.kubernetes.io/arch: amd64
    beta.kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: ${WORKER}
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
spec:
  taints:
  - effect: NoSchedule
    key: kwok.x-k8s.io/node
    value: fake
`;

const MIRROR_DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mirror
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: { app: mirror }
  template:
    metadata:
      labels: { app: mirror }
    spec:
      nodeSelector: { type: kwok }
      tolerations:
      - { key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule }
      containers:
      - name: registry
        image: registry:2
`;

beforeAll(async () => {
  const missing = COMPONENTS.filter((component) => !existsSync(path.join(BIN_DIR, component)));
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} not built in ${BIN_DIR}: run lab/k8s/build.sh first (the first build takes a while)`);
  }
  kubectlBinary = await kubectlPath(BIN_DIR);
  // Its own port, so a lab running on this machine does not get in the way.
  plane = await startControlPlane({ stateDir: STATE_DIR, bindAddress: '127.0.0.1', binDir: BIN_DIR, securePort: await freePort() });
}, START_TIMEOUT_MS);

afterAll(async () => {
  await stopControlPlane(STATE_DIR);
  await rm(STATE_DIR, { recursive: true, force: true });
}, STEP_TIMEOUT_MS);

test(
  'the apiserver answers an admin with the pinned Kubernetes version',
  async () => {
    const version = JSON.parse(await kubectl(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toBe(pinnedVersions().K8S_VERSION);
    expect(plane.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  },
  STEP_TIMEOUT_MS,
);

test(
  'starting again keeps the running control plane',
  async () => {
    const again = await startControlPlane({ stateDir: STATE_DIR, bindAddress: '127.0.0.1', binDir: BIN_DIR });
    expect(again).toEqual(plane);
    expect(controlPlaneStatus(STATE_DIR)?.map(({ component, up }) => [component, up])).toEqual(COMPONENTS.map((component) => [component, true]));
  },
  STEP_TIMEOUT_MS,
);

test(
  'a worker Node annotated for kwok becomes Ready',
  async () => {
    await kubectl(['apply', '-f', '-'], WORKER_NODE);
    await kubectl(['wait', '--for=condition=Ready', `node/${WORKER}`, '--timeout=120s']);
    const node = JSON.parse(await kubectl(['get', 'node', WORKER, '-o', 'json'])) as { status: { addresses: Array<{ type: string }> } };
    expect(node.status.addresses.map((address) => address.type)).toContain('InternalIP');
  },
  STEP_TIMEOUT_MS,
);

test(
  'a Deployment is scheduled on the worker and becomes Available',
  async () => {
    await kubectl(['apply', '-f', '-'], MIRROR_DEPLOYMENT);
    await kubectl(['wait', '--for=condition=Available', 'deployment/mirror', '--timeout=180s']);
    const pods = JSON.parse(await kubectl(['get', 'pods', '-l', 'app=mirror', '-o', 'json'])) as {
      items: Array<{ spec: { nodeName: string }; status: { phase: string; podIP: string } }>;
    };
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items) {
      expect(pod.spec.nodeName).toBe(WORKER);
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.podIP).toMatch(/^10\.244\./);
    }
  },
  STEP_TIMEOUT_MS,
);

test(
  'a deleted namespace goes away',
  async () => {
    await kubectl(['create', 'namespace', 'scratch']);
    await kubectl(['create', 'configmap', 'leftover', '-n', 'scratch', '--from-literal=key=value']);
    await kubectl(['delete', 'namespace', 'scratch', '--wait=false']);
    await kubectl(['wait', '--for=delete', 'namespace/scratch', '--timeout=120s']);
    await expect(kubectl(['get', 'namespace', 'scratch'])).rejects.toThrow(/NotFound|not found/);
  },
  STEP_TIMEOUT_MS,
);

test(
  'stop ends every process, and a second stop does nothing',
  async () => {
    const pids = Object.values(plane.pids);
    await stopControlPlane(STATE_DIR);
    expect(pids.filter(isRunning)).toEqual([]);
    expect(controlPlaneStatus(STATE_DIR)).toBeUndefined();
    await expect(stopControlPlane(STATE_DIR)).resolves.toBeUndefined();
  },
  STEP_TIMEOUT_MS,
);
