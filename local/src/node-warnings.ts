/**
 * Imported first by every entry point (the CLI, the benchmarks, the tests). The AWS SDK warns once
 * per process that releases after January 2027 need Node 22: the Lambda runtime is nodejs22.x, and
 * on a developer's Node 20 the warning only clutters the terminal. Every other warning still prints.
 */
const emitWarning = process.emitWarning.bind(process) as (warning: string | Error, ...rest: unknown[]) => void;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (text.startsWith('NodeVersionSupportWarning')) return;
  emitWarning(warning, ...rest);
}) as typeof process.emitWarning;
