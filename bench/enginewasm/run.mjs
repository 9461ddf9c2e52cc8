// Runs a wasip1 command module in Node's V8 (Node 20 or newer):
//   node --no-warnings bench/enginewasm/run.mjs engine.wasm
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const wasi = new WASI({ version: 'preview1', args: ['enginewasm'], env: {} });
const module = await WebAssembly.compile(readFileSync(process.argv[2]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.start(instance);
