/** Package entry point (package.json "main": dist/index.js). */
export * from './client';
