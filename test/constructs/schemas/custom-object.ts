/** The envelope of a custom resource's schema: apiVersion and kind fixed, a named metadata, and the kind's spec. */
export function customObjectSchema(apiVersion: string, kind: string, spec: Record<string, unknown>) {
  return {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: apiVersion },
      kind: { const: kind },
      metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
      spec,
    },
  } as const;
}
