import type { BuildOptions } from 'vite'

/**
 * The examples' Vite build: Rollup's warnings, except zod's comments it cannot place (harmless:
 * zod writes `@__PURE__` notes for esbuild, and Rollup only drops them).
 */
export const build: BuildOptions = {
  rollupOptions: {
    onwarn(warning, warn) {
      if (warning.code !== 'INVALID_ANNOTATION' || !warning.id?.includes('/node_modules/zod/')) warn(warning)
    },
  },
}
