// Worker thread entry: loads the TypeScript task module through tsx, as bin/yard.mjs does.
import { register } from 'tsx/esm/api';

register();
const { default: runHeavyTask } = await import('./heavy-worker.ts');
export default runHeavyTask;
