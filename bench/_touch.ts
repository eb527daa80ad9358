export {};
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { signIn } from '../src/lib/server/testing/console-server.ts';
const vol = 'bench/volumes/tenants-10000', state = vol + '.state';
const port = 46000 + Math.floor(Math.random() * 1000);
const extra = (process.env.NODEARGS ?? '').split(' ').filter(Boolean);
const child = spawn(process.execPath, [...extra, 'server.mjs'], { env: { ...process.env, TRUTH_YARD_LOG_LEVEL: 'warn', TRUTH_YARD_VOLUME: vol, TRUTH_YARD_STATE_DIR: state, HOST: '127.0.0.1', PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
const base = `http://127.0.0.1:${port}`;
for (;;) { try { await fetch(base + '/login'); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
const cookie = await signIn(base, 'admin', 'admin-demo-password');
const rss = (label: string) => { const s = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'); console.log(label, /VmRSS:\s+(\d+)/.exec(s)![1], 'kB', 'anon', /RssAnon:\s+(\d+)/.exec(s)![1], 'file', /RssFile:\s+(\d+)/.exec(s)![1]); };
rss('idle');
for (let p = 1; p <= 3; p++) await (await fetch(`${base}/admin/contexts?page=${p}`, { headers: { cookie } })).text();
rss('after contexts');
const ids = fs.readdirSync(`${vol}/embedded/tenant`);
let i = 0;
await Promise.all([0, 1, 2, 3].map(async () => { while (i < ids.length) { const id = ids[i++]; await (await fetch(`${base}/tenants/${id}/objects`, { headers: { cookie } })).text(); } }));
rss('after touching');
fs.writeFileSync('/tmp/smaps.txt', fs.readFileSync(`/proc/${child.pid}/smaps`));
if (process.env.SNAP) { process.kill(child.pid!, 'SIGUSR2'); await new Promise((r) => setTimeout(r, 15000)); }
child.kill();
