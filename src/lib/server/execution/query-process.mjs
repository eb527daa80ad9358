// Query process entry (ad-hoc SQL, exports): the parent-death watch first, then the TypeScript runner through tsx, as bin/yard.mjs does.
import { dieWithParent } from './die-with-parent.mjs';
import { register } from 'tsx/esm/api';

dieWithParent();
register();
await import('./query-process.ts');
