import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const adminDir = fileURLToPath(new URL('.', import.meta.url));

// For `npx vite admin` during development, /health and /api go to the API that `npm start` runs.
const apiUrl = `http://127.0.0.1:${process.env.API_PORT ?? 8080}`;

export default defineConfig({
  root: adminDir,
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // react-admin with Material UI makes one ~870 kB chunk (~275 kB gzipped); fine for an intranet console.
    chunkSizeWarningLimit: 2_000,
  },
  server: {
    proxy: {
      '/health': apiUrl,
      '/api': apiUrl,
      '/openapi.json': apiUrl,
    },
  },
});
