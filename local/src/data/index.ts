/** The data tools of the local runtime: source schema, generator, change simulator, CSV import. */
export { applySourceSchema, applySourceSchemaAt, existingSourceTables } from './source-setup';
export { seedSource, MAX_SCALE, type SeedOptions, type SeedProgress, type SeedResult } from './generator';
export { startSimulator, ChangeMaker, CHANGE_KINDS, DEFAULT_MIX, type SimulatorOptions, type Simulator, type SimulatorStats, type ChangeKind, type SimulatedChange } from './simulator';
export { importCsv, type CsvImportOptions, type CsvImportProgress, type CsvImportResult } from './csv-import';
export { SeedError, CsvImportError, SimulatorError } from './errors';
export { REFERENCE_ROWS, REFERENCE_TABLE_NAMES } from './reference-data';
