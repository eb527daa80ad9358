// Query process entry: loads the TypeScript runner through tsx, as bin/yard.mjs does.
import { register } from 'tsx/esm/api';

register();
await import('./adhoc-process.ts');
