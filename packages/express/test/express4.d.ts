// `express4` is the npm alias `npm:express@4.22.3` (devDependency); its API is typed with the
// Express types the tests use for both versions (the calls the tests make exist in both).
declare module 'express4' {
  import express from 'express';
  export default express;
}
