/**
 * SSH transport (ssh2): one connection per host for the whole run.
 *
 * Commands do not each open an exec channel (sshd would start a fresh login shell every
 * time, ~60 ms). Instead one long-lived `/bin/sh` runs on the host and every command is
 * written to it as a framed subshell (tsrun's own read scripts run in that shell itself,
 * see ExecOptions.inShell); the frame ends with a random marker and the exit status. A
 * round trip then costs little more than the network latency.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { becomeWrap } from './local.js';
import { ssh2 } from './ssh2.js';
import { hostKeyAlgorithms, knownHostsName, verifyHostKey, type HostKeyChecking } from './known-hosts.js';
import { quote } from './quote.js';
import { UnreachableError, type ExecOptions, type ExecResult, type Transport } from './types.js';

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  privateKeyFile?: string;
  password?: string;
}

export interface SshOptions extends SshEndpoint {
  becomePassword?: string;
  hostKeyChecking: HostKeyChecking;
  knownHostsFile: string;
  /** Reach the host through this bastion (ProxyJump). */
  jump?: SshEndpoint;
  connectTimeoutMs?: number;
  keepaliveMs?: number;
}

function connectConfig(endpoint: SshEndpoint, options: SshOptions): ConnectConfig {
  const config: ConnectConfig = {
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.user,
    readyTimeout: options.connectTimeoutMs ?? 10_000,
    // A host that stops answering mid-run is given up after about 15 s, not a minute.
    keepaliveInterval: options.keepaliveMs ?? 5_000,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
      const problem = verifyHostKey(options.hostKeyChecking, options.knownHostsFile, knownHostsName(endpoint.host, endpoint.port), key);
      hostKeyProblems.set(config, problem);
      verify(problem === undefined);
    },
  } as ConnectConfig;
  // Ask for a key of a type known_hosts holds for the host, as ssh does.
  const serverHostKey = options.hostKeyChecking === 'off' ? undefined : hostKeyAlgorithms(options.knownHostsFile, knownHostsName(endpoint.host, endpoint.port));
  if (serverHostKey) config.algorithms = { serverHostKey: serverHostKey as ServerHostKeyAlgorithm[] };
  if (endpoint.privateKeyFile) {
    try {
      config.privateKey = readFileSync(endpoint.privateKeyFile);
    } catch (error) {
      throw new UnreachableError(`cannot read private key ${endpoint.privateKeyFile}: ${(error as NodeJS.ErrnoException).code}`);
    }
  }
  if (endpoint.password !== undefined) config.password = endpoint.password;
  if (!endpoint.privateKeyFile && endpoint.password === undefined && process.env.SSH_AUTH_SOCK) config.agent = process.env.SSH_AUTH_SOCK;
  // OpenSSH's order, and no 'none' attempt first (ssh2's default costs a round trip).
  const methods = [config.privateKey ? 'publickey' : '', config.agent ? 'agent' : '', config.password !== undefined ? 'password' : ''].filter(Boolean);
  config.authHandler = (methods.length ? methods : ['none']) as ConnectConfig['authHandler'];
  return config;
}

const hostKeyProblems = new WeakMap<ConnectConfig, string | undefined>();

/**
 * Connect and authenticate. A client can emit several errors (a handshake timeout, then
 * the socket's own end), or close without any: each is handled, the first decides, and
 * a client that failed is destroyed, so one bad host never ends the run. The handler
 * stays: a later error (a keepalive timeout) closes the connection, and the shell's
 * waiting command then fails as unreachable.
 */
function connectClient(config: ConnectConfig, label: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new (ssh2().Client)();
    let settled = false;
    const fail = (error: UnreachableError): void => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(error);
    };
    client.once('ready', () => {
      settled = true;
      resolve(client);
    });
    client.on('error', (error: Error & { level?: string }) => {
      const hostKey = hostKeyProblems.get(config);
      if (hostKey) fail(new UnreachableError(hostKey));
      else if (error.level === 'client-authentication')
        fail(new UnreachableError(`authentication failed for ${config.username}@${label} (tried ${describeAuth(config)})`));
      else if (/timed out/i.test(error.message)) fail(new UnreachableError(`timed out connecting to ${label} after ${(config.readyTimeout ?? 0) / 1000}s`));
      else fail(new UnreachableError(`cannot connect to ${label}: ${error.message}`));
    });
    client.on('close', () => fail(new UnreachableError(`cannot connect to ${label}: the connection closed before the SSH handshake ended`)));
    client.connect(config);
    // Commands are small packets, each waiting for its answer: without TCP_NODELAY, Nagle's
    // algorithm holds one back while an earlier one is unacknowledged, up to the host's
    // 40 ms delayed ACK (it showed in the handshake).
    client.setNoDelay(true);
  });
}

function describeAuth(config: ConnectConfig): string {
  const methods = [config.privateKey ? 'key' : '', config.password !== undefined ? 'password' : '', config.agent ? 'agent' : ''].filter(Boolean);
  return methods.join(', ') || 'no credentials';
}

/** The persistent remote shell and its framing protocol. */
class RemoteShell {
  private stdout = Buffer.alloc(0);
  private stderr = Buffer.alloc(0);
  private waiting?: { nonce: string; resolve: (result: ExecResult) => void; reject: (error: Error) => void };
  private closedError?: Error;

  constructor(private readonly channel: ClientChannel) {
    channel.on('data', (chunk: Buffer) => {
      this.stdout = Buffer.concat([this.stdout, chunk]);
      this.settle();
    });
    channel.stderr.on('data', (chunk: Buffer) => {
      this.stderr = Buffer.concat([this.stderr, chunk]);
      this.settle();
    });
    channel.on('close', () => this.lost());
  }

  lost(): void {
    this.closedError ??= new UnreachableError('the connection to the host was lost');
    this.waiting?.reject(this.closedError);
    this.waiting = undefined;
  }

  run(script: string, nonce: string): Promise<ExecResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiting = { nonce, resolve, reject };
      this.channel.write(script);
    });
  }

  private settle(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    const outMarker = Buffer.from(`\n${waiting.nonce} `);
    const errMarker = Buffer.from(`\n${waiting.nonce}\n`);
    const outAt = this.stdout.indexOf(outMarker);
    if (outAt < 0) return;
    const lineEnd = this.stdout.indexOf(0x0a, outAt + outMarker.length);
    const errAt = this.stderr.indexOf(errMarker);
    if (lineEnd < 0 || errAt < 0) return;
    const code = Number(this.stdout.subarray(outAt + outMarker.length, lineEnd).toString());
    const result = {
      stdout: this.stdout.subarray(0, outAt).toString('utf8'),
      stderr: this.stderr.subarray(0, errAt).toString('utf8'),
      code,
    };
    this.stdout = this.stdout.subarray(lineEnd + 1);
    this.stderr = this.stderr.subarray(errAt + errMarker.length);
    this.waiting = undefined;
    waiting.resolve(result);
  }
}

/** The last line sudo writes when it refuses to authenticate (wrong or missing password). */
const SUDO_REFUSED = /(^|\n)sudo: (a password is required|\d+ incorrect password attempts?|no password was provided)$/;

export class SshTransport implements Transport {
  roundTrips = 0;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly client: Client,
    private readonly jumpClient: Client | undefined,
    private readonly shell: RemoteShell,
    private readonly options: SshOptions,
  ) {}

  static async connect(options: SshOptions): Promise<SshTransport> {
    const label = `${options.host}:${options.port}`;
    let jumpClient: Client | undefined;
    let client: Client | undefined;
    try {
      const config = connectConfig(options, options);
      if (options.jump) {
        jumpClient = await connectClient(connectConfig(options.jump, options), `${options.jump.host}:${options.jump.port} (jump host)`);
        config.sock = await new Promise((resolve, reject) =>
          jumpClient!.forwardOut('127.0.0.1', 0, options.host, options.port, (error, stream) =>
            error ? reject(new UnreachableError(`jump host cannot reach ${label}: ${error.message}`)) : resolve(stream),
          ),
        );
      }
      const connected = await connectClient(config, label);
      client = connected;
      const channel = await new Promise<ClientChannel>((resolve, reject) => {
        connected.once('close', () => reject(new UnreachableError(`the connection to ${label} closed before a shell started`)));
        connected.exec('exec /bin/sh', (error, stream) =>
          error ? reject(new UnreachableError(`cannot start a shell on ${label}: ${error.message}`)) : resolve(stream),
        );
      });
      const shell = new RemoteShell(channel);
      // A connection that dies (keepalive unanswered, reset) ends the shell's wait at once.
      connected.once('close', () => shell.lost());
      return new SshTransport(connected, jumpClient, shell, options);
    } catch (error) {
      client?.destroy();
      jumpClient?.destroy();
      throw error;
    }
  }

  exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    const run = this.queue.then(() => this.execNow(script, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private execNow(script: string, options: ExecOptions): Promise<ExecResult> {
    if (options.deadline !== undefined && options.deadline <= Date.now()) return Promise.reject(new Error('the task ran out of time before this command'));
    this.roundTrips++;
    const nonce = `__tsrun_${randomBytes(12).toString('hex')}`;
    const becomeUser = options.becomeUser && options.becomeUser !== this.options.user ? options.becomeUser : undefined;
    const body = becomeWrap(script, undefined, options.env);
    const hasStdin = options.stdin !== undefined && options.stdin.length > 0;
    const source = hasStdin ? `printf %s ${quote(Buffer.from(options.stdin!).toString('base64'))} | base64 -d | ` : '';
    const redirect = hasStdin ? '' : ' </dev/null';
    // Without become the script runs in a subshell of the persistent shell: a fork, no
    // exec of a new sh (~1 ms less per host and task). `eval` keeps a script's syntax error
    // inside that subshell, and the subshell keeps its exit, cd and variables to itself.
    // A deadline is kept by the host's own `timeout`: it leads a process group and ends it
    // whole (TERM, then KILL a second later, also under sudo), the frame then ends as
    // usual, so the shell is free for the next command and no kill needs a channel of its own.
    const deadline = options.deadline;
    const limit = deadline === undefined ? '' : `timeout -k 1 ${Math.max(0.001, (deadline - Date.now()) / 1000).toFixed(3)} `;
    const runner = becomeUser
      ? `${this.becomeValidation()}${source}sudo -n -H -u ${quote(becomeUser)} -- ${limit}/bin/sh -c ${quote(body)}`
      : limit
        ? `${source}${limit}/bin/sh -c ${quote(body)}`
        : `${source}( eval ${quote(body)} )`;
    // `command` keeps a syntax error in the script from ending the connection's shell.
    const inShell = options.inShell && !limit && !becomeUser && !hasStdin && Object.keys(options.env ?? {}).length === 0;
    const frame = `${inShell ? `command eval ${quote(script)}` : runner}${redirect}; __tsrun_rc=$?; printf '\\n%s %s\\n' ${nonce} "$__tsrun_rc"; printf '\\n%s\\n' ${nonce} >&2\n`;
    const result = this.shell.run(frame, nonce);
    return becomeUser ? result.then((outcome) => this.checkBecome(outcome, becomeUser)) : result;
  }

  /**
   * With a become password, sudo's credentials are checked before each become command by a
   * `sudo -v` of its own, and the password reaches only that sudo, only when `sudo -n -v`
   * says one is needed (the first time on a connection; sudo then caches the credentials
   * for the connection's shell). The command itself always runs under `sudo -n`, so its
   * standard input is the task's own: with `sudo -S` in front of the command, a password
   * sudo did not need to read stayed in the pipe and became the command's input (the
   * first line of every file written with become). The connection's shell reads its
   * commands from the channel, so sudo cannot be given the channel to prompt on.
   */
  private becomeValidation(): string {
    const password = this.options.becomePassword;
    if (password === undefined) return '';
    return `{ sudo -n -v </dev/null 2>/dev/null || printf '%s\\n' ${quote(password)} | sudo -S -p '' -v; } && `;
  }

  /** sudo's own refusal is not the command failing: say so, naming what to fix (never the password). */
  private checkBecome(result: ExecResult, becomeUser: string): ExecResult {
    if (result.code !== 1 || !SUDO_REFUSED.test(result.stderr.trimEnd())) return result;
    const why =
      this.options.becomePassword === undefined
        ? 'sudo needs a password: set ansible_become_password'
        : 'sudo refused the become password: check ansible_become_password';
    throw new Error(`become ${becomeUser} failed for ${this.options.user}@${this.options.host}: ${why}`);
  }

  async close(): Promise<void> {
    this.client.end();
    this.jumpClient?.end();
  }
}
