/** How tsrun reaches a host: one Transport per host for the whole run. */

export interface ExecOptions {
  /** Bytes written to the command's standard input, then closed. */
  stdin?: string | Buffer;
  /** Run as this user through sudo (become). */
  becomeUser?: string;
  /** Extra environment for this command (task `environment:`). */
  env?: Record<string, string>;
  /**
   * A script of tsrun's own that reads and leaves the shell as it found it (it may set
   * variables, never exits, changes directory or reads its input): the SSH transport may
   * run it in the connection's shell itself, saving the subshell's fork.
   */
  inShell?: boolean;
  /**
   * When the command must have ended (Date.now() milliseconds, a task's `timeout:`): it is
   * then terminated with its children (TERM, KILL a second later), and its exec settles.
   */
  deadline?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status of the command; 255 is never produced by the transport itself. */
  code: number;
}

export interface Transport {
  /** Run a POSIX `sh` script on the host. One round trip. */
  exec(script: string, options?: ExecOptions): Promise<ExecResult>;
  /** Round trips made so far (for `-vvv` and the benchmarks). */
  readonly roundTrips: number;
  close(): Promise<void>;
}

/** The host cannot be reached (connect, auth, host key): the host is "unreachable". */
export class UnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreachableError';
  }
}
