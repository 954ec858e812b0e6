// Placeholder until the change-detector issue lands: the handler module the local runtime and serverless.yml point at.
export async function schedule(_event: unknown): Promise<never> {
  throw new Error('change-detector.schedule is not built yet');
}
export async function detect(_event: unknown): Promise<never> {
  throw new Error('change-detector.detect is not built yet');
}
