/**
 * Everything the CLI prints goes through here: plain lines, a live block redrawn in place on a
 * terminal (progress, status), and aligned tables. When stdout is not a terminal (CI, a pipe) the
 * live block is printed as a line at most every `pipeInterval` so logs stay readable.
 */
export interface Output {
  info(line: string): void;
  /** Printed only with --verbose. */
  detail(line: string): void;
  error(line: string): void;
  /** Replace the live block with these lines. */
  live(lines: readonly string[]): void;
  /** Leave the live block as it is and continue below it. */
  endLive(): void;
}

export function createOutput(options: { verbose: boolean; stream?: NodeJS.WriteStream; pipeIntervalMs?: number }): Output {
  const stream = options.stream ?? process.stdout;
  const tty = stream.isTTY === true;
  const pipeInterval = options.pipeIntervalMs ?? 10_000;
  let liveHeight = 0;
  let lastPiped = 0;
  let lastPipedText = '';
  const clearLive = () => {
    if (tty && liveHeight > 0) {
      stream.write(`\x1b[${liveHeight}A\x1b[0J`);
      liveHeight = 0;
    }
  };
  const write = (line: string) => {
    clearLive();
    stream.write(`${line}\n`);
  };
  return {
    info: write,
    detail: (line) => {
      if (options.verbose) write(line);
    },
    error: (line) => {
      clearLive();
      process.stderr.write(`${line}\n`);
    },
    live(lines) {
      if (tty) {
        clearLive();
        const width = stream.columns ?? 120;
        for (const line of lines) stream.write(`${line.slice(0, width - 1)}\n`);
        liveHeight = lines.length;
        return;
      }
      const text = lines.join('\n');
      const now = Date.now();
      if (text !== lastPipedText && now - lastPiped >= pipeInterval) {
        stream.write(`${text}\n`);
        lastPiped = now;
        lastPipedText = text;
      }
    },
    endLive() {
      liveHeight = 0;
      lastPipedText = '';
      lastPiped = 0;
    },
  };
}

/** Columns aligned with two spaces; numbers right-aligned. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string[] {
  const cells = [header.map(String), ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-GB') : c)))];
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) =>
    r
      .map((c, i) => (numeric[i] ? (c ?? '').padStart(widths[i] ?? 0) : (c ?? '').padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}
