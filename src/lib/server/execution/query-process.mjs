// Query process entry (ad-hoc SQL, exports): loads the TypeScript runner through tsx, as bin/yard.mjs does.
import { register } from 'tsx/esm/api';

register();
await import('./query-process.ts');
