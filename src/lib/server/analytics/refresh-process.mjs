// Refresh process entry (started by the server): loads the TypeScript runner through tsx, as bin/yard.mjs does.
import { register } from 'tsx/esm/api';

register();
await import('./refresh-process.ts');
