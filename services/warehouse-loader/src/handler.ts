// Placeholder until the warehouse-loader issue lands: the handler module the local runtime and serverless.yml point at.
export async function load(_event: unknown): Promise<never> {
  throw new Error('warehouse-loader.load is not built yet');
}
