/** The CLI's exit codes: scripts and CI branch on them. */
export const EXIT = {
  ok: 0,
  /** Any error the CLI could not handle; a sentence on stderr says why. */
  error: 1,
  /** At least one message ended in a dead-letter queue during the run. */
  dlq: 2,
  /** At least one source row was quarantined during the run. */
  quarantined: 3,
} as const;
