import { createTransformHandler, createTransformerRuntime } from './wiring';

/**
 * The transformer Lambda: one handler for the 11 functions `transform-<table>`, each on its own
 * queue. Configuration and clients are built at module scope, once per container; a missing or
 * malformed variable fails here, at start, naming the variable.
 */
const runtime = createTransformerRuntime();

export const transform = createTransformHandler(runtime);
