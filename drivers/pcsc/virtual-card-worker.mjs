// Worker threads do not inherit the TypeScript loader: register tsx here, then load the worker in TS.
import { register } from 'tsx/esm/api';

register();
await import('./virtual-card-worker.ts');
