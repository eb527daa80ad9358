// Worker thread entry: loads the TypeScript task module through tsx, as bin/yard.mjs does.
import { register } from 'tsx/esm/api';

register();
const { default: regenerateOnWorker, checkHealthOnWorker } = await import('./regenerate-worker.ts');
export default regenerateOnWorker;
export { checkHealthOnWorker };
