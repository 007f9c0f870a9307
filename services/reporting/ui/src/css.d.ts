/** Stylesheets are bundled by esbuild (scripts/build-ui.mjs); importing one only adds it to the bundle. */
declare module '*.css';
