// Worker thread entry: loads the TypeScript task module through tsx, as bin/yard.mjs does.
import { register } from 'tsx/esm/api';

register();
const { default: regenerateTimed } = await import('./regenerate-worker.ts');
export default regenerateTimed;
