import fs from 'node:fs';

/** Whether a process still exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): state is [0], ppid [1], utime [11], stime [12]. */
function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Every living process started (directly or not) by `pid`, from /proc. */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields || fields[0] === 'Z') continue;
    const parent = Number(fields[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const child of children.get(parent) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/** Those of `pids` running or ready to run on a CPU (state R), as a statement that is working is. */
export function runningOf(pids: number[]): number[] {
  return pids.filter((pid) => statFields(pid)?.[0] === 'R');
}

/** CPU seconds (user + system, every thread) a process has used so far; 0 when it is gone. */
export function cpuSecondsOf(pid: number): number {
  const fields = statFields(pid);
  // Clock ticks are 1/100 s on Linux.
  return fields ? (Number(fields[11]) + Number(fields[12])) / 100 : 0;
}

/** CPU time (user + system, every thread) the processes have used so far, in clock ticks. */
function cpuTicks(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    const fields = statFields(pid);
    return sum + (fields ? Number(fields[11]) + Number(fields[12]) : 0);
  }, 0);
}

/**
 * The share of one core that a process and everything it started used over `ms`
 * (1 = one core busy the whole time): threads spinning in a statement nobody waits for
 * show here as a share that does not fall.
 */
export async function cpuShare(pid: number, ms = 1000): Promise<number> {
  const pids = [pid, ...descendantsOf(pid)];
  const before = cpuTicks(pids);
  await new Promise((resolve) => setTimeout(resolve, ms));
  // Clock ticks are 1/100 s on Linux.
  return (cpuTicks(pids) - before) / (ms / 10);
}

/**
 * TCP connections to a local port, from /proc/net/tcp: established ones, and of those how
 * many the listening process has not accepted yet (the listen socket's queue).
 */
export function connectionsTo(port: number): { established: number; notAccepted: number } {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let established = 0;
  let notAccepted = 0;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, , state, queues] = line.trim().split(/\s+/);
    if (!local?.endsWith(`:${hexPort}`)) continue;
    if (state === '01') established += 1;
    if (state === '0A') notAccepted += parseInt(queues.split(':')[1], 16);
  }
  return { established, notAccepted };
}
