// Refresh process entry (started by the server): the parent-death watch first (a refresh
// dies with the server, kill -9 included), then the TypeScript runner through tsx, as bin/yard.mjs does.
import { dieWithParent } from '../execution/die-with-parent.mjs';
import { register } from 'tsx/esm/api';

dieWithParent();
register();
await import('./refresh-process.ts');
