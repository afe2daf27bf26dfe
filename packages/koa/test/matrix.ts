// The tested version matrix: Koa 2.16 and 3.x, each with @koa/router 12, 13, 14 and 15 (the
// aliases in package.json). Every suite that depends on the framework runs once per cell, under a
// top-level `describe` named `koa <major> + @koa/router <major>: …` so that CI's matrix reporter
// counts the results per cell.
import Router from '@koa/router';
import Koa from 'koa';
import Router12 from 'koa-router-12';
import Router13 from 'koa-router-13';
import Router14 from 'koa-router-14';
import Koa2 from 'koa2';

export interface KoaCell {
  /** `koa 3 + @koa/router 15` */
  name: string;
  koaMajor: 2 | 3;
  routerMajor: 12 | 13 | 14 | 15;
  Koa: typeof Koa;
  Router: typeof Router;
}

const KOAS = [
  [2, Koa2],
  [3, Koa],
] as const;
const ROUTERS = [
  [12, Router12],
  [13, Router13],
  [14, Router14],
  [15, Router],
] as const;

export const KOA_MATRIX: readonly KoaCell[] = KOAS.flatMap(([koaMajor, K]) =>
  ROUTERS.map(([routerMajor, R]) => ({
    name: `koa ${koaMajor} + @koa/router ${routerMajor}`,
    koaMajor,
    routerMajor,
    Koa: K,
    Router: R,
  })),
);
