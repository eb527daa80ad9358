// Every query process dies with the server, kill -9 included. A process busy in a
// synchronous SQLite statement cannot run its event loop, so the check runs on a thread of
// its own: when the parent is gone (this process was handed to another parent), it sends
// SIGKILL to its own process. unref() so the watch alone never keeps the process alive.
import { Worker } from 'node:worker_threads';

const WATCH = `
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, ${250});
`;

export function dieWithParent() {
  new Worker(WATCH, { eval: true }).unref();
  // The parent closing the channel (a clean shutdown) ends an idle process at once.
  process.once('disconnect', () => process.exit(0));
}
