/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  // Worker-thread backends load compiled JS from dist/; globalSetup builds it once.
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 60000,
  maxWorkers: 2,
  // A worker that has run half the suites holds a large heap, and tearing it down after 'exit' can take longer than
  // jest's default 500 ms on a loaded machine (issue 20: both workers emptied their event loop and ran 'exit' with no
  // handle or thread of their own left, and were force-killed 0.5 s later, printing "A worker process has failed to
  // exit gracefully"). A leaked handle keeps a worker alive for good, and still gets that notice after this wait.
  workerGracefulExitTimeout: 10_000,
};
