import { defineConfig } from 'vitest/config';

// Two tiers: `unit` runs anywhere in seconds; `lab` needs the real sshd and
// MariaDB servers that `.ci/run` installs, and fails (never skips) without them.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.{ts,tsx}'],
          exclude: ['test/lab/**'],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.{ts,tsx}'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
