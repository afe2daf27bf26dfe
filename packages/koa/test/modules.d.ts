// The version-matrix aliases (package.json devDependencies) ship no types of their own: they are
// typed as the Koa 3 / @koa/router 15 API, which is what the tests use of them.
declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
declare module 'koa-router-12' {
  import Router from '@koa/router';
  export default Router;
}
declare module 'koa-router-13' {
  import Router from '@koa/router';
  export default Router;
}
declare module 'koa-router-14' {
  import Router from '@koa/router';
  export default Router;
}
