/**
 * The README's client example: one inference on the example model `simple` over gRPC.
 * Run it against a server (`npm start`) with `npm run example:client` (or `-- localhost:8001` for another address).
 * In a project of your own, the import is the same: the package name resolves to this package's dist/index.js.
 */
import { InferenceServerClient, InferInput } from 'cdk8s-inference-server';

async function main(url = 'localhost:8001'): Promise<void> {
  const client = new InferenceServerClient({ url, protocol: 'grpc' }); // or { url: 'localhost:8000', protocol: 'http' }
  try {
    const result = await client.infer('simple', [
      InferInput.fromTypedArray('INPUT0', Int32Array.from({ length: 16 }, (_, i) => i), [1, 16]),
      InferInput.fromTypedArray('INPUT1', new Int32Array(16).fill(1), [1, 16]),
    ]);
    console.log(`model simple version ${result.version}`);
    console.log('OUTPUT0 = INPUT0 + INPUT1:', Array.from(result.asTypedArray('OUTPUT0') as Int32Array).join(' '));
    console.log('OUTPUT1 = INPUT0 - INPUT1:', Array.from(result.asTypedArray('OUTPUT1') as Int32Array).join(' '));
  } finally {
    await client.close();
  }
}

main(process.argv[2]).catch((error: Error) => {
  console.error(`error: ${error.message}\n(is the server running? 'npm start' serves the example models, gRPC on localhost:8001)`);
  process.exitCode = 1;
});
