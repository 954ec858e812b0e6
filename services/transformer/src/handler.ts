// Placeholder until the transformer issue lands: the handler module the local runtime and serverless.yml point at.
export async function transform(_event: unknown): Promise<never> {
  throw new Error('transformer.transform is not built yet');
}
