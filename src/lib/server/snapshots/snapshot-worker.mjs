// Snapshot worker thread entry: loads the TypeScript task module through tsx, as bin/yard.mjs does.
import { register } from 'tsx/esm/api';

register();
await import('./snapshot-worker.ts');
